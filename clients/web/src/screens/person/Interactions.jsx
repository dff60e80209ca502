// The timeline of exchanges with the young person, newest first, and the
// form to add one (today, by phone, unless told otherwise).
import { useState } from 'preact/hooks';
import { useStore } from '../../store.js';
import { t, getLang, enumOptions, enumLabel } from '../../i18n.js';
import { model, enumValues } from '../../model.js';
import { useDraft } from '../../drafts.js';
import { saveOrQueue } from '../../outbox.js';
import { formErrors } from '../../errors.js';
import { showToast } from '../../ui.js';
import { todayISO, formatDate } from '../../dates.js';
import { session } from '../../session.js';
import { TextField, TextArea, SelectField, FormError } from '../../components/forms.jsx';

const FIELDS = ['date', 'channel', 'note', 'next_step'];

export function Interactions({ personId, personName, items, names, onChanged }) {
  const m = useStore(model);
  const user = useStore(session)?.user;
  const lang = getLang();
  const empty = { date: todayISO(), channel: 'phone', note: '', next_step: '' };
  const [form, update, reset] = useDraft('interaction.' + personId, empty);
  const [errors, setErrors] = useState({ fields: {}, form: null });
  const [busy, setBusy] = useState(false);

  async function add(event) {
    event.preventDefault();
    const fields = { person: personId, date: form.date, channel: form.channel };
    if (form.note.trim()) fields.note = form.note.trim();
    if (form.next_step.trim()) fields.next_step = form.next_step.trim();
    if (user) fields.counsellor = user;
    setBusy(true);
    setErrors({ fields: {}, form: null });
    try {
      const outcome = await saveOrQueue({
        kind: 'interaction', method: 'POST', path: '/api/records/interaction',
        body: { fields }, label: t('outbox.label.interaction', { name: personName }),
      });
      showToast(outcome.queued ? { kind: 'warn', text: t('common.queued') } : { text: t('person.interactionSaved') });
      reset({ ...empty, date: todayISO() });
      onChanged();
    } catch (error) {
      setErrors(formErrors(error, FIELDS));
    } finally {
      setBusy(false);
    }
  }

  return (
    <section class="panel" aria-labelledby="interactions-title">
      <h2 id="interactions-title">{t('person.interactions')}</h2>
      <form onSubmit={add} noValidate id="interaction-form" class="inline-form">
        <FormError message={errors.form} id="interaction-error" />
        <div class="row2">
          <TextField id="interaction-date" type="date" label={t('field.interaction.date')} value={form.date}
            onValue={(v) => update({ date: v })} error={errors.fields.date} required />
          <SelectField id="interaction-channel" label={t('field.interaction.channel')} value={form.channel}
            onValue={(v) => update({ channel: v })} error={errors.fields.channel} required
            options={enumOptions('interaction', 'channel', enumValues(m, 'interaction', 'channel'))} />
        </div>
        <TextArea id="interaction-note" label={t('field.interaction.note')} value={form.note}
          onValue={(v) => update({ note: v })} error={errors.fields.note} maxLength={280} rows={3} />
        <TextField id="interaction-next_step" label={t('field.interaction.next_step')} value={form.next_step}
          onValue={(v) => update({ next_step: v })} error={errors.fields.next_step} maxLength={120} />
        <button class="primary" type="submit" disabled={busy} id="interaction-submit">
          {busy ? t('common.saving') : t('person.addInteraction')}
        </button>
      </form>
      {!items.length && <p class="empty">{t('person.noInteractions')}</p>}
      <ol class="timeline" id="timeline">
        {items.map((item) => {
          const f = item.fields;
          return (
            <li key={item.id}>
              <p class="when">
                <strong>{formatDate(f.date, lang)}</strong>
                {' · '}{enumLabel('interaction', 'channel', f.channel)}
                {f.event && names[f.event] ? ` · ${names[f.event]}` : ''}
                {f.counsellor ? ` · ${f.counsellor}` : ''}
              </p>
              {f.note && <p class="note">{f.note}</p>}
              {f.next_step && <p class="next"><span>{t('person.nextStepLabel')}</span> {f.next_step}</p>}
            </li>
          );
        })}
      </ol>
    </section>
  );
}
