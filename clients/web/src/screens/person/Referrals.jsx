// Referrals of the young person to a programme or partner: their stage, a
// button to move to the next one, and the form to open a new one.
import { useState } from 'preact/hooks';
import { useStore } from '../../store.js';
import { t, getLang, enumLabel, enumOptions } from '../../i18n.js';
import { model, lists, enumValues, recordName } from '../../model.js';
import { saveOrQueue } from '../../outbox.js';
import { formErrors, describe } from '../../errors.js';
import { showToast } from '../../ui.js';
import { todayISO, formatDate } from '../../dates.js';
import { SelectField, FormError } from '../../components/forms.jsx';

export const STAGES = ['identified', 'contacted', 'mobilised', 'referred', 'entered', 'exited'];

export function nextStage(stages, stage) {
  const i = stages.indexOf(stage);
  return i >= 0 && i < stages.length - 1 ? stages[i + 1] : null;
}

function Referral({ record, stages, names, personName, onChanged }) {
  const m = useStore(model);
  const lang = getLang();
  const f = record.fields;
  const next = nextStage(stages, f.stage);
  const [outcome, setOutcome] = useState('');
  const [error, setError] = useState(null);
  const [busy, setBusy] = useState(false);

  async function advance() {
    setBusy(true);
    setError(null);
    try {
      const label = t('outbox.label.referral', { name: personName });
      const moved = await saveOrQueue({
        kind: 'advance', method: 'POST', path: `/api/referrals/${record.id}/advance`,
        body: { stage: next }, label,
      });
      if (next === 'exited' && outcome) {
        await saveOrQueue({
          kind: 'referral', method: 'PATCH', path: `/api/records/referral/${record.id}`,
          body: { fields: { exit_outcome: outcome } }, label,
        });
      }
      showToast(moved.queued ? { kind: 'warn', text: t('common.queued') }
        : { text: t('person.advanced', { stage: enumLabel('referral', 'stage', next) }) });
      onChanged();
    } catch (err) {
      setError(describe(err));
    } finally {
      setBusy(false);
    }
  }

  const target = [f.programme && names[f.programme], f.partner && names[f.partner]].filter(Boolean).join(' · ')
    || t('person.referralNoTarget');
  const stageDate = f[`${f.stage}_on`];
  return (
    <li class="card referral" data-stage={f.stage} data-id={record.id}>
      <p class="name">{target}</p>
      <p>
        <span class={'stage stage-' + f.stage}>{enumLabel('referral', 'stage', f.stage)}</span>
        {stageDate && <span class="meta"> {t('person.since', { date: formatDate(stageDate, lang) })}</span>}
        {f.exit_outcome && <span class="meta"> · {enumLabel('referral', 'exit_outcome', f.exit_outcome)}</span>}
      </p>
      <FormError message={error} />
      {next && (
        <div class="actions">
          {next === 'exited' && (
            <SelectField id={`outcome-${record.id}`} label={t('field.referral.exit_outcome')} value={outcome}
              onValue={setOutcome} empty="—"
              options={enumOptions('referral', 'exit_outcome', enumValues(m, 'referral', 'exit_outcome'))} />
          )}
          <button type="button" class="primary advance" disabled={busy} onClick={advance}>
            {t('person.advanceTo', { stage: enumLabel('referral', 'stage', next) })}
          </button>
        </div>
      )}
    </li>
  );
}

export function Referrals({ personId, personName, items, names, onChanged }) {
  const m = useStore(model);
  const programmes = useStore(lists.programme) || [];
  const partners = useStore(lists.partner) || [];
  const stages = enumValues(m, 'referral', 'stage').length ? enumValues(m, 'referral', 'stage') : STAGES;
  const [open, setOpen] = useState(false);
  const [form, setForm] = useState({ programme: '', partner: '' });
  const [errors, setErrors] = useState({ fields: {}, form: null });
  const [busy, setBusy] = useState(false);

  async function add(event) {
    event.preventDefault();
    const fields = { person: personId, stage: stages[0], [`${stages[0]}_on`]: todayISO() };
    if (form.programme) fields.programme = form.programme;
    if (form.partner) fields.partner = form.partner;
    setBusy(true);
    setErrors({ fields: {}, form: null });
    try {
      const outcome = await saveOrQueue({
        kind: 'referral', method: 'POST', path: '/api/records/referral',
        body: { fields }, label: t('outbox.label.referral', { name: personName }),
      });
      showToast(outcome.queued ? { kind: 'warn', text: t('common.queued') } : { text: t('person.referralSaved') });
      setForm({ programme: '', partner: '' });
      setOpen(false);
      onChanged();
    } catch (error) {
      setErrors(formErrors(error, ['programme', 'partner']));
    } finally {
      setBusy(false);
    }
  }

  const options = (records) => records
    .map((r) => ({ value: r.id, label: recordName(r) }))
    .sort((a, b) => a.label.localeCompare(b.label));

  return (
    <section class="panel" aria-labelledby="referrals-title">
      <div class="panel-head">
        <h2 id="referrals-title">{t('person.referrals')}</h2>
        {!open && (
          <button type="button" class="secondary" id="referral-new" onClick={() => setOpen(true)}>
            {t('person.newReferral')}
          </button>
        )}
      </div>
      {open && (
        <form onSubmit={add} noValidate id="referral-form" class="inline-form">
          <FormError message={errors.form} id="referral-error" />
          <SelectField id="referral-programme" label={t('field.referral.programme')} value={form.programme}
            onValue={(v) => setForm({ ...form, programme: v })} empty="—" options={options(programmes)}
            error={errors.fields.programme} />
          <SelectField id="referral-partner" label={t('field.referral.partner')} value={form.partner}
            onValue={(v) => setForm({ ...form, partner: v })} empty="—" options={options(partners)}
            error={errors.fields.partner} />
          <div class="actions">
            <button class="primary" type="submit" disabled={busy} id="referral-submit">
              {busy ? t('common.saving') : t('person.addReferral')}
            </button>
            <button class="secondary" type="button" onClick={() => setOpen(false)}>{t('common.cancel')}</button>
          </div>
        </form>
      )}
      {!items.length && <p class="empty">{t('person.noReferrals')}</p>}
      <ul class="cards" id="referrals">
        {items.map((record) => (
          <Referral key={record.id} record={record} stages={stages} names={names}
            personName={personName} onChanged={onChanged} />
        ))}
      </ul>
    </section>
  );
}
