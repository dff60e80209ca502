// Sync in detail: the replica's link to the server, and the saves of this
// phone still waiting for the replica.
import { useEffect } from 'preact/hooks';
import { useStore } from '../store.js';
import { t, getLang } from '../i18n.js';
import { reachable } from '../api.js';
import { syncState, pollSync } from '../sync.js';
import { outbox, flush, discard } from '../outbox.js';
import { formatDateTime } from '../dates.js';
import { writeJSON } from '../storage.js';
import { navigate } from '../router.js';
import { badgeInfo } from '../components/SyncBadge.jsx';

function Row({ label, children }) {
  return <div class="pair"><dt>{label}</dt><dd>{children}</dd></div>;
}

export function SyncScreen() {
  const ok = useStore(reachable);
  const sync = useStore(syncState);
  const items = useStore(outbox);
  const lang = getLang();
  useEffect(() => { pollSync(); }, []);

  // A capture refused on its way out goes back into the form, with its
  // values, for the counsellor to correct.
  function reopen(item) {
    const p = item.body.person || {};
    const consents = Object.fromEntries((item.body.consents || []).map((c) => [c.purpose, true]));
    const guardian = (item.body.consents || []).find((c) => c.guardian_name) || {};
    writeJSON('draft.capture', {
      first_name: p.first_name || '', last_name: p.last_name || '', phone: p.phone || '',
      email: p.email || '', birth_date: p.birth_date || '', age_band: p.age_band || '',
      interests: p.interests || [], consents,
      guardian_name: guardian.guardian_name || '', guardian_relation: guardian.guardian_relation || '',
    });
    if (item.body.event) writeJSON('lastEvent', item.body.event);
    discard(item.id);
    navigate('/capture');
  }

  return (
    <section class="screen sync">
      <h1 tabindex="-1">{t('sync.title')}</h1>
      <p class={'sync-summary ' + badgeInfo(ok, sync).kind}>{badgeInfo(ok, sync).text}</p>
      {ok === false && <p class="notice error">{t('banner.unreachable')} {t('banner.unreachableMore')}</p>}
      {sync && (
        <dl class="details" id="sync-details">
          <Row label={t('sync.field.state')}>{t('sync.state.' + sync.state)}</Row>
          <Row label={t('sync.field.enrolled')}>{sync.enrolled ? t('common.yes') : t('common.no')}</Row>
          {sync.server && <Row label={t('sync.field.server')}>{sync.server}</Row>}
          <Row label={t('sync.field.last_sync')}>{sync.last_sync ? formatDateTime(sync.last_sync, lang) : t('sync.never')}</Row>
          <Row label={t('sync.field.waiting')}>{String(sync.waiting ?? 0)}</Row>
          {sync.offline_since && <Row label={t('sync.field.offline_since')}>{formatDateTime(sync.offline_since, lang)}</Row>}
          {sync.last_error && <Row label={t('sync.field.last_error')}>{typeof sync.last_error === 'string' ? sync.last_error : sync.last_error.message || JSON.stringify(sync.last_error)}</Row>}
        </dl>
      )}
      <p class="hint">{t('sync.explain')}</p>

      <h2>{t('outbox.title')}</h2>
      {!items.length && <p class="empty">{t('outbox.empty')}</p>}
      {items.length > 0 && (
        <>
          <p class="hint">{t('outbox.explain')}</p>
          <ul class="cards" id="outbox-list">
            {items.map((item) => (
              <li key={item.id} class={'card' + (item.error ? ' failed' : '')}>
                <p class="name">{item.label || item.path}</p>
                <p class="meta">{t('outbox.since', { date: formatDateTime(item.queuedAt, lang) })}</p>
                {item.error && <p class="field-error">{item.error.message}</p>}
                <div class="actions">
                  {item.error && item.kind === 'capture' && (
                    <button type="button" class="primary" onClick={() => reopen(item)}>{t('outbox.reopen')}</button>
                  )}
                  <button type="button" class="secondary"
                    onClick={() => { if (confirm(t('outbox.discardConfirm'))) discard(item.id); }}>
                    {t('outbox.discard')}
                  </button>
                </div>
              </li>
            ))}
          </ul>
          <button type="button" class="primary" onClick={() => flush()}>{t('outbox.retry')}</button>
        </>
      )}
    </section>
  );
}
