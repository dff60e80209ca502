// Always in the header: is the replica syncing with the server, and how many
// of its changes wait to be sent. Tapping it opens the sync screen.
import { useStore } from '../store.js';
import { reachable } from '../api.js';
import { syncState } from '../sync.js';
import { t, getLang } from '../i18n.js';
import { formatTime } from '../dates.js';

// `text` is the full sentence (sync screen, accessible name); `short` fits
// in the header of a small phone.
export function badgeInfo(ok, sync, lang = getLang()) {
  if (ok === false) {
    const text = t('sync.badge.unreachable', null, lang);
    return { kind: 'down', text, short: text };
  }
  if (!sync) return { kind: 'unknown', text: t('sync.badge.unknown', null, lang), short: '…' };
  const state = t('sync.state.' + sync.state, null, lang);
  const parts = [state];
  let short = state;
  if (sync.waiting > 0) {
    parts.push(t('sync.badge.waiting', { n: sync.waiting }, lang));
    short += ` · ${sync.waiting}\u2009⇡`;
  } else if (sync.last_sync) {
    const time = formatTime(sync.last_sync, lang);
    parts.push(t('sync.badge.lastSync', { time }, lang));
    short += ` · ${time}`;
  }
  const kind = sync.state === 'live' ? 'live' : sync.state === 'offline' ? 'offline' : 'other';
  return { kind, text: parts.join(' · '), short };
}

export function SyncBadge() {
  const ok = useStore(reachable);
  const sync = useStore(syncState);
  const info = badgeInfo(ok, sync);
  return (
    <a class={'sync-badge ' + info.kind} href="#/sync" id="sync-badge"
      aria-label={t('sync.badge.label', { state: info.text })} title={info.text}>
      <span class="dot" aria-hidden="true" />
      <span class="text">{info.short}</span>
    </a>
  );
}
