// Referrals by stage, one column per stage; on a phone the columns scroll
// sideways and snap, one and a bit on screen.
import { t, getLang, enumLabel } from '../i18n.js';
import { api } from '../api.js';
import { useLoad } from '../hooks.js';
import { describe } from '../errors.js';
import { href } from '../router.js';
import { formatDate } from '../dates.js';
import { Notice } from '../components/forms.jsx';

export function Pipeline() {
  const lang = getLang();
  const { data, error, loading, reload } = useLoad(() => api.get('/api/pipeline'), []);
  const stages = data?.stages || [];
  return (
    <section class="screen pipeline">
      <div class="panel-head">
        <h1 tabindex="-1">{t('pipeline.title')}</h1>
        <button type="button" class="secondary" onClick={reload}>{t('common.refresh')}</button>
      </div>
      {error && <Notice kind="error">{describe(error)}</Notice>}
      {loading && !data && <p>{t('common.loading')}</p>}
      <div class="columns" id="pipeline" tabindex="0" role="region" aria-label={t('pipeline.title')}>
        {stages.map((column) => (
          <section class="column" key={column.stage} data-stage={column.stage}
            aria-labelledby={`stage-${column.stage}`}>
            <h2 id={`stage-${column.stage}`}>
              {enumLabel('referral', 'stage', column.stage)} <span class="count">{column.referrals.length}</span>
            </h2>
            {!column.referrals.length && <p class="empty">{t('pipeline.empty')}</p>}
            <ul class="cards">
              {column.referrals.map((r) => (
                <li key={r.id} data-id={r.id}>
                  <a class="card link" href={href('person', r.person)}>
                    <strong class="name">{r.person_name}</strong>
                    <span class="meta">{[r.programme_name, r.partner_name].filter(Boolean).join(' · ')}</span>
                    {r.since && <span class="meta">{t('person.since', { date: formatDate(r.since, lang) })}</span>}
                  </a>
                </li>
              ))}
            </ul>
          </section>
        ))}
      </div>
    </section>
  );
}
