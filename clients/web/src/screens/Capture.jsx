// Quick capture at an event: the counsellor's home screen. One screen, one
// save, big targets; the event chosen last is kept for the next young person.
import { useEffect, useRef, useState } from 'preact/hooks';
import { useStore } from '../store.js';
import { t, getLang, enumOptions, purposeLabel, localized } from '../i18n.js';
import { model, lists, loadList, enumValues, consentPurposes, eventsNewestFirst } from '../model.js';
import { useDraft } from '../drafts.js';
import { readJSON, writeJSON } from '../storage.js';
import { ageOn, needsGuardian, parseTypedDate, todayISO, formatDate } from '../dates.js';
import { buildCapture } from '../capture-body.js';
import { saveOrQueue } from '../outbox.js';
import { formErrors } from '../errors.js';
import { showToast } from '../ui.js';
import { href } from '../router.js';
import { TextField, SelectField, ChipGroup, CheckboxField, FormError, Notice } from '../components/forms.jsx';

const EMPTY = {
  first_name: '', last_name: '', phone: '', email: '', birth_date: '', age_band: '',
  interests: [], consents: {}, guardian_name: '', guardian_relation: '',
};

const FIELDS = ['first_name', 'last_name', 'phone', 'email', 'birth_date', 'age_band', 'interests',
  'event', 'guardian_name', 'guardian_relation', 'purpose', 'consents'];

export function Capture() {
  const m = useStore(model);
  const events = useStore(lists.event);
  const lang = getLang();
  const [form, update, reset] = useDraft('capture', EMPTY);
  const [eventId, setEventId] = useState(() => readJSON('lastEvent') || '');
  const [errors, setErrors] = useState({ fields: {}, form: null });
  const [busy, setBusy] = useState(false);
  const [listError, setListError] = useState(null);
  const formRef = useRef(null);

  useEffect(() => { loadList('event').catch(setListError); }, []);

  const sorted = eventsNewestFirst(events);
  // Nothing remembered yet: today's event, when there is exactly one.
  useEffect(() => {
    if (eventId || !events) return;
    const today = events.filter((e) => e.fields.date === todayISO());
    if (today.length === 1) chooseEvent(today[0].id);
  }, [events]);

  function chooseEvent(id) {
    setEventId(id);
    writeJSON('lastEvent', id);
  }

  const set = (name) => (value) => {
    update({ [name]: value });
    if (errors.fields[name]) setErrors((e) => ({ ...e, fields: { ...e.fields, [name]: null } }));
  };

  const birthISO = parseTypedDate(form.birth_date);
  const age = ageOn(birthISO);
  const minor = needsGuardian({ birthDate: birthISO, ageBand: form.age_band });
  const purposes = consentPurposes(m);

  function focusField(name) {
    const el = formRef.current?.querySelector(`#capture-${name}`) || formRef.current?.querySelector('.form-error');
    (el?.matches('fieldset') ? el.querySelector('input') : el)?.focus();
  }

  async function submit(event) {
    event.preventDefault();
    if (busy) return;
    const body = buildCapture({ ...form, event: eventId }, { lang, purposes, today: todayISO() });
    const name = [body.person.first_name, body.person.last_name].filter(Boolean).join(' ');
    setBusy(true);
    setErrors({ fields: {}, form: null });
    try {
      const outcome = await saveOrQueue({
        kind: 'capture', method: 'POST', path: '/api/capture', body, label: name,
      });
      if (outcome.saved) {
        showToast({ text: t('capture.saved', { name }), link: { href: href('person', outcome.result.id), text: t('capture.open') } });
      } else {
        showToast({ kind: 'warn', text: t('capture.queued', { name }) }, 10000);
      }
      reset(EMPTY);
      document.getElementById('capture-first_name')?.focus();
      window.scrollTo({ top: 0 });
    } catch (error) {
      const shown = formErrors(error, FIELDS);
      setErrors(shown);
      setTimeout(() => focusField(shown.field), 0);
    } finally {
      setBusy(false);
    }
  }

  const eventOptions = sorted.map((e) => ({
    value: e.id,
    label: [e.fields.title, formatDate(e.fields.date, lang), e.fields.place].filter(Boolean).join(' · '),
  }));

  return (
    <section class="screen capture">
      <h1 tabindex="-1">{t('capture.title')}</h1>
      <form ref={formRef} onSubmit={submit} noValidate id="capture-form">
        <FormError message={errors.form} id="capture-error" />
        <SelectField id="capture-event" label={t('capture.event')} value={eventId} onValue={chooseEvent}
          options={eventOptions} empty={events ? t('capture.eventNone') : t('common.loading')}
          error={errors.fields.event} />
        {events && !events.length && (
          <Notice>{t('capture.noEvents')} <a href="#/events">{t('capture.createEvent')}</a></Notice>
        )}
        {listError && !events && <Notice kind="warn">{t('capture.eventsUnavailable')}</Notice>}

        <div class="row2">
          <TextField id="capture-first_name" label={t('field.person.first_name')} value={form.first_name}
            onValue={set('first_name')} error={errors.fields.first_name} required autofocus
            autocomplete="given-name" autocapitalize="words" enterkeyhint="next" />
          <TextField id="capture-last_name" label={t('field.person.last_name')} value={form.last_name}
            onValue={set('last_name')} error={errors.fields.last_name} required
            autocomplete="family-name" autocapitalize="words" enterkeyhint="next" />
        </div>
        <TextField id="capture-phone" label={t('field.person.phone')} type="tel" inputmode="tel"
          value={form.phone} onValue={set('phone')} error={errors.fields.phone}
          autocomplete="tel" enterkeyhint="next" />
        <TextField id="capture-email" label={t('field.person.email')} type="email" inputmode="email"
          value={form.email} onValue={set('email')} error={errors.fields.email}
          autocomplete="email" autocapitalize="none" spellcheck={false} enterkeyhint="next" />
        <div class="row2">
          <TextField id="capture-birth_date" label={t('field.person.birth_date')} inputmode="numeric"
            placeholder={t('form.datePlaceholder')} value={form.birth_date} onValue={set('birth_date')}
            error={errors.fields.birth_date} autocomplete="bday"
            hint={age != null ? t('capture.age', { n: age }) : t('capture.birthHint')} />
          <SelectField id="capture-age_band" label={t('field.person.age_band')} value={form.age_band}
            onValue={set('age_band')} empty="—" error={errors.fields.age_band}
            options={enumOptions('person', 'age_band', enumValues(m, 'person', 'age_band'))} />
        </div>
        <ChipGroup id="capture-interests" legend={t('field.person.interests')}
          options={enumOptions('person', 'interests', enumValues(m, 'person', 'interests'))}
          values={form.interests} onValues={set('interests')} error={errors.fields.interests} />

        <h2>{t('capture.consentTitle')}</h2>
        {!purposes.length && <Notice kind="warn">{t('capture.modelMissing')}</Notice>}
        {purposes.map((purpose) => (
          <fieldset class="consent" key={purpose.id}>
            <legend>{purposeLabel(purpose)}</legend>
            {/* To be read to the young person: kept visible, in a box that
                scrolls so the form stays short. */}
            <div class="notice-text" tabindex="0" role="region" lang={lang}
              aria-label={t('consent.noticeOf', { purpose: purposeLabel(purpose) })}>
              {localized(purpose.notice, lang)}
            </div>
            <CheckboxField id={`capture-consent-${purpose.id}`} label={t('capture.consentOral')}
              checked={form.consents?.[purpose.id]}
              onChecked={(on) => update((f) => ({ ...f, consents: { ...f.consents, [purpose.id]: on } }))} />
          </fieldset>
        ))}
        {minor && (
          <fieldset class="guardian">
            <legend>{t('consent.guardianTitle')}</legend>
            <p class="hint">{t('consent.guardianWhy')}</p>
            <TextField id="capture-guardian_name" label={t('field.consent.guardian_name')}
              value={form.guardian_name} onValue={set('guardian_name')} error={errors.fields.guardian_name}
              autocomplete="off" autocapitalize="words" />
            <SelectField id="capture-guardian_relation" label={t('field.consent.guardian_relation')}
              value={form.guardian_relation} onValue={set('guardian_relation')} empty="—"
              error={errors.fields.guardian_relation}
              options={enumOptions('consent', 'guardian_relation', enumValues(m, 'consent', 'guardian_relation').length
                ? enumValues(m, 'consent', 'guardian_relation') : ['parent', 'legal_guardian'])} />
          </fieldset>
        )}
        {(errors.fields.purpose || errors.fields.consents) && (
          <p class="field-error" role="alert">{errors.fields.purpose || errors.fields.consents}</p>
        )}
        <div class="actions sticky">
          <button class="primary big" type="submit" disabled={busy} id="capture-submit">
            {busy ? t('common.saving') : t('capture.submit')}
          </button>
          <button class="secondary" type="button" onClick={() => {
              // One stray tap must not lose a young person's details.
              if (JSON.stringify(form) !== JSON.stringify(EMPTY) && !confirm(t('capture.clearConfirm'))) return;
              reset(EMPTY);
              setErrors({ fields: {}, form: null });
            }}>
            {t('capture.clear')}
          </button>
        </div>
      </form>
    </section>
  );
}
