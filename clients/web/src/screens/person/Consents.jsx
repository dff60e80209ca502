// Consent per purpose: where it stands, and recording a consent or its
// withdrawal — the withdrawal as easy as the consent, one tap away.
import { useState } from 'preact/hooks';
import { useStore } from '../../store.js';
import { t, getLang, enumLabel, enumOptions, purposeLabel, localized } from '../../i18n.js';
import { model, enumValues, consentPurposes } from '../../model.js';
import { saveOrQueue } from '../../outbox.js';
import { formErrors } from '../../errors.js';
import { showToast } from '../../ui.js';
import { formatDateTime } from '../../dates.js';
import { TextField, SelectField, FormError } from '../../components/forms.jsx';

const METHODS = ['oral_at_event', 'paper_form', 'online'];

function statusText(state, lang) {
  if (!state || state.status === 'none') return t('consent.status.none');
  const when = state.captured_at ? ' ' + t('consent.on', { date: formatDateTime(state.captured_at, lang) }) : '';
  return t('consent.status.' + state.status) + when;
}

function ConsentForm({ personId, personName, purpose, mode, minor, onDone, onCancel }) {
  const m = useStore(model);
  const lang = getLang();
  const methods = enumValues(m, 'consent', 'method').length ? enumValues(m, 'consent', 'method') : METHODS;
  const relations = enumValues(m, 'consent', 'guardian_relation').length
    ? enumValues(m, 'consent', 'guardian_relation') : ['parent', 'legal_guardian'];
  const [form, setForm] = useState({ method: 'oral_at_event', guardian_name: '', guardian_relation: '' });
  const [errors, setErrors] = useState({ fields: {}, form: null });
  const [busy, setBusy] = useState(false);
  const prefix = `consent-${purpose.id}`;

  async function submit(event) {
    event.preventDefault();
    const give = mode === 'give';
    const body = give
      ? { purpose: purpose.id, method: form.method, language: lang,
          guardian_name: minor ? form.guardian_name.trim() : '',
          guardian_relation: minor ? form.guardian_relation : '' }
      : { purpose: purpose.id, method: form.method };
    setBusy(true);
    try {
      const outcome = await saveOrQueue({
        kind: 'consent', method: 'POST',
        path: `/api/persons/${personId}/consent${give ? '' : '/withdraw'}`,
        body, label: t(give ? 'outbox.label.consent' : 'outbox.label.withdraw', { name: personName }),
      });
      showToast(outcome.queued ? { kind: 'warn', text: t('common.queued') }
        : { text: t(give ? 'consent.givenSaved' : 'consent.withdrawnSaved') });
      onDone();
    } catch (error) {
      setErrors(formErrors(error, ['method', 'guardian_name', 'guardian_relation']));
    } finally {
      setBusy(false);
    }
  }

  return (
    <form onSubmit={submit} noValidate class="inline-form" id={`${prefix}-form`}>
      <FormError message={errors.form} />
      {mode === 'give' && (
        <div class="notice-text" tabindex="0" role="region" lang={lang}
          aria-label={t('consent.noticeOf', { purpose: purposeLabel(purpose) })}>
          {localized(purpose.notice, lang)}
        </div>
      )}
      <SelectField id={`${prefix}-method`} label={t('field.consent.method')} value={form.method}
        onValue={(v) => setForm({ ...form, method: v })} error={errors.fields.method}
        options={enumOptions('consent', 'method', methods)} />
      {mode === 'give' && minor && (
        <>
          <p class="hint">{t('consent.guardianWhy')}</p>
          <TextField id={`${prefix}-guardian_name`} label={t('field.consent.guardian_name')}
            value={form.guardian_name} onValue={(v) => setForm({ ...form, guardian_name: v })}
            error={errors.fields.guardian_name} autocomplete="off" />
          <SelectField id={`${prefix}-guardian_relation`} label={t('field.consent.guardian_relation')}
            value={form.guardian_relation} onValue={(v) => setForm({ ...form, guardian_relation: v })}
            empty="—" error={errors.fields.guardian_relation}
            options={enumOptions('consent', 'guardian_relation', relations)} />
        </>
      )}
      <div class="actions">
        <button class="primary" type="submit" disabled={busy}>
          {mode === 'give' ? t('consent.confirmGive') : t('consent.confirmWithdraw')}
        </button>
        <button class="secondary" type="button" onClick={onCancel}>{t('common.cancel')}</button>
      </div>
    </form>
  );
}

export function Consents({ personId, personName, states, history, objections, minor, onChanged }) {
  const m = useStore(model);
  const lang = getLang();
  const [open, setOpen] = useState(null); // `${purpose}:give` or `${purpose}:withdraw`
  const purposes = consentPurposes(m);

  return (
    <section class="panel" aria-labelledby="consents-title">
      <h2 id="consents-title">{t('person.consents')}</h2>
      {objections?.length > 0 && (
        <p class="notice warn">
          {t('consent.objections', { list: objections.map((p) => purposeLabel(p)).join(', ') })}
        </p>
      )}
      <ul class="cards">
        {purposes.map((purpose) => {
          const state = states.find((s) => s.purpose === purpose.id);
          const given = state?.status === 'given';
          return (
            <li key={purpose.id} class="card consent-state" id={`consent-${purpose.id}`}
              data-status={state?.status || 'none'}>
              <p class="name">{purposeLabel(purpose)}</p>
              <p class={'status ' + (state?.status || 'none')}>{statusText(state, lang)}</p>
              {state?.incomplete && <p class="notice warn">{t('consent.incomplete')}</p>}
              {open === `${purpose.id}:give` || open === `${purpose.id}:withdraw` ? (
                <ConsentForm personId={personId} personName={personName} purpose={purpose}
                  mode={open.split(':')[1]} minor={minor}
                  onDone={() => { setOpen(null); onChanged(); }} onCancel={() => setOpen(null)} />
              ) : (
                <div class="actions">
                  {(!given || state?.incomplete) && (
                    <button type="button" class="secondary" onClick={() => setOpen(`${purpose.id}:give`)}>
                      {t('consent.give')}
                    </button>
                  )}
                  {given && (
                    <button type="button" class="secondary" onClick={() => setOpen(`${purpose.id}:withdraw`)}>
                      {t('consent.withdraw')}
                    </button>
                  )}
                </div>
              )}
            </li>
          );
        })}
      </ul>
      {history?.length > 0 && (
        <details class="history">
          <summary>{t('consent.history')}</summary>
          <ul>
            {history.map((entry, i) => {
              const f = entry.fields || entry;
              return (
                <li key={entry.id || i}>
                  {formatDateTime(f.captured_at, lang)} · {purposeLabel(f.purpose || '')} ·{' '}
                  {enumLabel('consent', 'status', f.status)} · {enumLabel('consent', 'method', f.method)}
                  {f.collected_by ? ` · ${f.collected_by}` : ''}
                  {f.notice_version ? ` · ${t('consent.noticeVersion', { v: f.notice_version, lang: f.notice_language || '' })}` : ''}
                  {f.guardian_name ? ` · ${f.guardian_name} (${enumLabel('consent', 'guardian_relation', f.guardian_relation)})` : ''}
                </li>
              );
            })}
          </ul>
        </details>
      )}
    </section>
  );
}
