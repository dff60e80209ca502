// Events: the list, a form to create one before going out, and who was met
// at each.
import { useEffect, useState } from 'preact/hooks';
import { useStore } from '../store.js';
import { t, tn, getLang, enumLabel, enumOptions } from '../i18n.js';
import { api } from '../api.js';
import { model, lists, loadList, enumValues, eventsNewestFirst } from '../model.js';
import { session } from '../session.js';
import { useLoad } from '../hooks.js';
import { useDraft } from '../drafts.js';
import { saveOrQueue } from '../outbox.js';
import { formErrors, describe } from '../errors.js';
import { showToast } from '../ui.js';
import { writeJSON } from '../storage.js';
import { navigate, href } from '../router.js';
import { todayISO, formatDate } from '../dates.js';
import { formatPhone } from '../format.js';
import { TextField, SelectField, FormError, Notice } from '../components/forms.jsx';

const EMPTY = { title: '', kind: '', date: '', place: '' };
const FIELDS = ['title', 'kind', 'date', 'place'];

function NewEvent({ onCreated, onCancel }) {
  const m = useStore(model);
  const me = useStore(session);
  const [form, update, reset] = useDraft('event', { ...EMPTY, date: todayISO() });
  const [errors, setErrors] = useState({ fields: {}, form: null });
  const [busy, setBusy] = useState(false);

  useEffect(() => { document.getElementById('event-title')?.focus(); }, []);

  async function submit(event) {
    event.preventDefault();
    const fields = {};
    for (const name of FIELDS) if (form[name].trim()) fields[name] = form[name].trim();
    if (me?.site) fields.site = me.site;
    setBusy(true);
    try {
      const outcome = await saveOrQueue({
        kind: 'event', method: 'POST', path: '/api/records/event', body: { fields },
        label: t('outbox.label.event', { title: fields.title || '' }),
      });
      reset({ ...EMPTY, date: todayISO() });
      if (outcome.queued) showToast({ kind: 'warn', text: t('common.queued') });
      else showToast({ text: t('events.saved', { title: fields.title }) });
      onCreated(outcome.saved ? outcome.result.id : null);
    } catch (error) {
      setErrors(formErrors(error, FIELDS));
    } finally {
      setBusy(false);
    }
  }

  return (
    <form onSubmit={submit} noValidate class="panel inline-form" id="event-form">
      <h2>{t('events.new')}</h2>
      <FormError message={errors.form} />
      <TextField id="event-title" label={t('field.event.title')} value={form.title} required maxLength={120}
        onValue={(v) => update({ title: v })} error={errors.fields.title} autocomplete="off" />
      <SelectField id="event-kind" label={t('field.event.kind')} value={form.kind} required empty="—"
        onValue={(v) => update({ kind: v })} error={errors.fields.kind}
        options={enumOptions('event', 'kind', enumValues(m, 'event', 'kind'))} />
      <TextField id="event-date" type="date" label={t('field.event.date')} value={form.date} required
        onValue={(v) => update({ date: v })} error={errors.fields.date} />
      <TextField id="event-place" label={t('field.event.place')} value={form.place} maxLength={120}
        onValue={(v) => update({ place: v })} error={errors.fields.place} autocomplete="off" />
      <div class="actions">
        <button class="primary" type="submit" disabled={busy}>{t('events.create')}</button>
        <button class="secondary" type="button" onClick={onCancel}>{t('common.cancel')}</button>
      </div>
    </form>
  );
}

export function Events() {
  const events = useStore(lists.event);
  const lang = getLang();
  const [error, setError] = useState(null);
  const [creating, setCreating] = useState(false);

  const refresh = () => loadList('event').then(() => setError(null), setError);
  useEffect(() => { refresh(); }, []);

  return (
    <section class="screen events">
      <div class="panel-head">
        <h1 tabindex="-1">{t('events.title')}</h1>
        {!creating && (
          <button type="button" class="primary" id="event-new" onClick={() => setCreating(true)}>{t('events.new')}</button>
        )}
      </div>
      {creating && (
        <NewEvent onCancel={() => setCreating(false)}
          onCreated={() => { setCreating(false); refresh(); }} />
      )}
      {error && <Notice kind="error">{describe(error)}</Notice>}
      {events && !events.length && <p class="empty">{t('events.none')}</p>}
      <ul class="cards" id="events-list">
        {eventsNewestFirst(events).map((e) => (
          <li key={e.id}>
            <a class="card link" href={href('events', e.id)}>
              <strong class="name">{e.fields.title}</strong>
              <span class="meta">
                {[formatDate(e.fields.date, lang), enumLabel('event', 'kind', e.fields.kind), e.fields.place]
                  .filter(Boolean).join(' · ')}
              </span>
            </a>
          </li>
        ))}
      </ul>
    </section>
  );
}

export function EventDetail({ id }) {
  const lang = getLang();
  const { data, error, loading } = useLoad(() => api.get(`/api/events/${encodeURIComponent(id)}/persons`), [id]);

  if (!data) {
    return (
      <section class="screen">
        <h1 tabindex="-1">{t('events.title')}</h1>
        {loading ? <p>{t('common.loading')}</p> : <Notice kind="error">{describe(error)}</Notice>}
      </section>
    );
  }

  const f = data.event.fields;
  const persons = data.persons || [];
  return (
    <section class="screen event">
      <p><a href="#/events">← {t('events.back')}</a></p>
      <h1 tabindex="-1">{f.title}</h1>
      <p class="lead">
        {[formatDate(f.date, lang), enumLabel('event', 'kind', f.kind), f.place].filter(Boolean).join(' · ')}
      </p>
      <button type="button" class="primary big" onClick={() => { writeJSON('lastEvent', id); navigate('/capture'); }}>
        {t('events.captureHere')}
      </button>
      <h2>{tn('events.met', persons.length)}</h2>
      <ul class="cards" id="event-persons">
        {persons.map((p) => (
          <li key={p.id}>
            <a class="card link" href={href('person', p.id)}>
              <strong class="name">{p.first_name} {p.last_name}</strong>
              <span class="meta">{[formatPhone(p.phone), p.email, p.commune].filter(Boolean).join(' · ')}</span>
            </a>
          </li>
        ))}
      </ul>
    </section>
  );
}
