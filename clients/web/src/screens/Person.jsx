// A young person's page: everything from GET /api/persons/ID/file, reloaded
// after each change so the page always shows what the replica holds.
import { useEffect } from 'preact/hooks';
import { useStore } from '../store.js';
import { t } from '../i18n.js';
import { api } from '../api.js';
import { useLoad } from '../hooks.js';
import { lists, loadList, recordName } from '../model.js';
import { describe } from '../errors.js';
import { ageOn, needsGuardian } from '../dates.js';
import { Notice } from '../components/forms.jsx';
import { Details } from './person/Details.jsx';
import { Interactions } from './person/Interactions.jsx';
import { Referrals } from './person/Referrals.jsx';
import { Consents } from './person/Consents.jsx';
import { PersonTasks } from './person/PersonTasks.jsx';

function useNames() {
  const events = useStore(lists.event) || [];
  const programmes = useStore(lists.programme) || [];
  const partners = useStore(lists.partner) || [];
  const names = {};
  for (const r of [...events, ...programmes, ...partners]) names[r.id] = recordName(r);
  return names;
}

export function Person({ id }) {
  const { data, error, loading, reload } = useLoad(() => api.get(`/api/persons/${encodeURIComponent(id)}/file`), [id]);
  const names = useNames();

  useEffect(() => {
    for (const entity of ['event', 'programme', 'partner']) loadList(entity).catch(() => {});
  }, []);

  if (!data) {
    return (
      <section class="screen">
        <h1 tabindex="-1">{t('person.title')}</h1>
        {loading ? <p>{t('common.loading')}</p> : <Notice kind="error">{describe(error)}</Notice>}
      </section>
    );
  }

  const person = data.person;
  const f = person.fields;
  const name = `${f.first_name || ''} ${f.last_name || ''}`.trim();
  const age = ageOn(f.birth_date);
  const minor = needsGuardian({ birthDate: f.birth_date, ageBand: f.age_band });
  const summary = [
    age != null ? t('capture.age', { n: age }) : null,
    f.met_at && names[f.met_at] ? t('person.metAt', { event: names[f.met_at] }) : null,
  ].filter(Boolean).join(' · ');

  return (
    <section class="screen person" data-id={person.id}>
      <h1 tabindex="-1" id="person-name">{name}</h1>
      {summary && <p class="lead">{summary}</p>}
      {error && <Notice kind="error">{describe(error)}</Notice>}
      <nav class="jump" aria-label={t('person.sections')}>
        {[['interactions-title', 'person.interactions'], ['referrals-title', 'person.referrals'],
          ['ptasks-title', 'person.tasks'], ['consents-title', 'person.consents']].map(([target, key]) => (
          <button type="button" class="link" key={target}
            onClick={() => document.getElementById(target)?.scrollIntoView({ block: 'start' })}>
            {t(key)}
          </button>
        ))}
      </nav>
      <Details key={'d' + JSON.stringify(f)} record={person} names={names} onSaved={reload} />
      <Interactions personId={person.id} personName={name} items={data.interactions || []}
        names={names} onChanged={reload} />
      <Referrals personId={person.id} personName={name} items={data.referrals || []}
        names={names} onChanged={reload} />
      <PersonTasks personId={person.id} personName={name} items={data.tasks || []} onChanged={reload} />
      <Consents personId={person.id} personName={name} states={data.consents || []}
        history={data.consent_history || []} objections={data.objections || []} minor={minor}
        onChanged={reload} />
    </section>
  );
}
