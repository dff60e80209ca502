// The person's details, edited in place: the list turns into a form at the
// same spot, and only the fields that changed are sent.
import { useState } from 'preact/hooks';
import { useStore } from '../../store.js';
import { t, getLang, fieldLabel } from '../../i18n.js';
import { model, fieldOf } from '../../model.js';
import { useDraft } from '../../drafts.js';
import { readJSON } from '../../storage.js';
import { saveOrQueue } from '../../outbox.js';
import { formErrors } from '../../errors.js';
import { showToast } from '../../ui.js';
import { RecordField, toFormValue, fromFormValue, sameValue, displayValue } from '../../components/RecordField.jsx';
import { FormError } from '../../components/forms.jsx';

export const EDITABLE = [
  'first_name', 'last_name', 'birth_date', 'age_band', 'phone', 'email', 'postal_code', 'commune',
  'situation', 'diploma_level', 'followed_by', 'interests', 'preferred_contact', 'channel', 'counsellor',
];

export function Details({ record, names, onSaved }) {
  const m = useStore(model);
  const lang = getLang();
  const fields = EDITABLE.map((name) => fieldOf(m, 'person', name)).filter(Boolean);
  const initial = Object.fromEntries(fields.map((f) => [f.name, toFormValue(f.type, record.fields[f.name])]));
  // A draft left by a reload or a login in between reopens the form.
  const [editing, setEditing] = useState(() => readJSON('draft.person.' + record.id) != null);
  const [form, update, reset] = useDraft('person.' + record.id, initial);
  const [errors, setErrors] = useState({ fields: {}, form: null });
  const [busy, setBusy] = useState(false);

  function start() {
    reset(initial);
    setErrors({ fields: {}, form: null });
    setEditing(true);
    setTimeout(() => document.getElementById('edit-first_name')?.focus(), 0);
  }

  function cancel() {
    reset(initial);
    setEditing(false);
    setTimeout(() => document.getElementById('details-edit')?.focus(), 0);
  }

  async function save(event) {
    event.preventDefault();
    const changed = {};
    for (const f of fields) {
      const value = fromFormValue(f.type, form[f.name]);
      if (!sameValue(value, record.fields[f.name])) changed[f.name] = value;
    }
    if (!Object.keys(changed).length) { cancel(); return; }
    setBusy(true);
    try {
      const name = `${record.fields.first_name} ${record.fields.last_name}`;
      const outcome = await saveOrQueue({
        kind: 'person', method: 'PATCH', path: `/api/records/person/${record.id}`,
        body: { fields: changed }, label: t('outbox.label.person', { name }),
      });
      if (outcome.queued) showToast({ kind: 'warn', text: t('common.queued') });
      else showToast({ text: t('common.saved') });
      reset(initial);
      setEditing(false);
      onSaved();
    } catch (error) {
      const shown = formErrors(error, fields.map((f) => f.name));
      setErrors(shown);
      setTimeout(() => document.getElementById(shown.field ? `edit-${shown.field}` : 'details-error')?.focus(), 0);
    } finally {
      setBusy(false);
    }
  }

  if (!editing) {
    const shown = fields.filter((f) => displayValue('person', f, record.fields[f.name], lang, names));
    return (
      <section class="panel" aria-labelledby="details-title">
        <div class="panel-head">
          <h2 id="details-title">{t('person.details')}</h2>
          <button type="button" class="secondary" id="details-edit" onClick={start}>{t('common.edit')}</button>
        </div>
        <dl class="details">
          {shown.map((f) => (
            <div key={f.name} class="pair">
              <dt>{fieldLabel('person', f.name)}</dt>
              <dd>{displayValue('person', f, record.fields[f.name], lang, names)}</dd>
            </div>
          ))}
        </dl>
      </section>
    );
  }

  return (
    <section class="panel" aria-labelledby="details-title">
      <h2 id="details-title">{t('person.editTitle')}</h2>
      <form onSubmit={save} noValidate id="details-form">
        <FormError message={errors.form} id="details-error" />
        {fields.map((f) => (
          <RecordField key={f.name} entity="person" field={f} idPrefix="edit" lang={lang}
            value={form[f.name]} error={errors.fields[f.name]}
            onValue={(value) => update({ [f.name]: value })} />
        ))}
        <div class="actions">
          <button class="primary" type="submit" disabled={busy}>{busy ? t('common.saving') : t('common.save')}</button>
          <button class="secondary" type="button" onClick={cancel}>{t('common.cancel')}</button>
        </div>
      </form>
    </section>
  );
}
