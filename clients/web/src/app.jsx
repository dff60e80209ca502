// The frame around every screen: header with the sync badge, the banner when
// the replica is out of reach, the notice of saves waiting, the tab bar, and
// the login screen laid over the rest when a session is needed (so a form
// under it keeps what was typed).
import { useEffect, useRef } from 'preact/hooks';
import { useStore } from './store.js';
import { t, language, setLang } from './i18n.js';
import { reachable } from './api.js';
import { session, sessionState, loginPrompt, restoreSession } from './session.js';
import { outbox, flush } from './outbox.js';
import { loadModel } from './model.js';
import { startSyncPolling, pollSync } from './sync.js';
import { useRoute } from './router.js';
import { toast } from './ui.js';
import { SyncBadge } from './components/SyncBadge.jsx';
import { Login } from './screens/Login.jsx';
import { Capture } from './screens/Capture.jsx';
import { Search } from './screens/Search.jsx';
import { Person } from './screens/Person.jsx';
import { Events, EventDetail } from './screens/Events.jsx';
import { Pipeline } from './screens/Pipeline.jsx';
import { Tasks } from './screens/Tasks.jsx';
import { Conflicts } from './screens/Conflicts.jsx';
import { SyncScreen } from './screens/Sync.jsx';
import { More } from './screens/More.jsx';

function Screen({ route }) {
  const [first, second] = route.parts;
  switch (first) {
    case undefined:
    case 'capture': return <Capture />;
    case 'search': return <Search query={route.query.get('q') || ''} />;
    case 'person': return <Person key={second} id={second} />;
    case 'events': return second ? <EventDetail key={second} id={second} /> : <Events />;
    case 'pipeline': return <Pipeline />;
    case 'tasks': return <Tasks />;
    case 'conflicts': return <Conflicts />;
    case 'sync': return <SyncScreen />;
    case 'more': return <More />;
    default:
      return (
        <section class="screen">
          <h1 tabindex="-1">{t('notFound.title')}</h1>
          <p><a href="#/capture">{t('nav.capture')}</a></p>
        </section>
      );
  }
}

const TABS = [
  { route: 'capture', key: 'nav.capture', icon: '+' },
  { route: 'search', key: 'nav.search', icon: '⌕' },
  { route: 'tasks', key: 'nav.tasks', icon: '✓' },
  { route: 'pipeline', key: 'nav.pipeline', icon: '⇢' },
  { route: 'more', key: 'nav.more', icon: '≡' },
];

function TabBar({ current }) {
  return (
    <nav class="tabbar" aria-label={t('nav.label')}>
      <ul>
        {TABS.map((tab) => (
          <li key={tab.route}>
            <a href={'#/' + tab.route} aria-current={current === tab.route ? 'page' : undefined}>
              <span class="tab-icon" aria-hidden="true">{tab.icon}</span>
              <span>{t(tab.key)}</span>
            </a>
          </li>
        ))}
      </ul>
    </nav>
  );
}

function OutboxNotice() {
  const items = useStore(outbox);
  if (!items.length) return null;
  const waiting = items.filter((item) => !item.error).length;
  const failed = items.length - waiting;
  return (
    <div class="outbox-notice" role="status" id="outbox-notice">
      {waiting > 0 && <span>{t('outbox.waiting', { n: waiting })}</span>}
      {failed > 0 && <span class="failed">{t('outbox.failed', { n: failed })}</span>}
      <a href="#/sync">{t('outbox.details')}</a>
    </div>
  );
}

function Toast() {
  const value = useStore(toast);
  return (
    <div class="toast-region" aria-live="polite">
      {value && (
        <div class={'toast ' + (value.kind || 'ok')} key={value.at}>
          <span>{value.text}</span>
          {value.link && <a href={value.link.href}>{value.link.text}</a>}
        </div>
      )}
    </div>
  );
}

export function App() {
  const lang = useStore(language);
  const ok = useStore(reachable);
  const prompt = useStore(loginPrompt);
  const state = useStore(sessionState);
  useStore(session);
  const route = useRoute();
  const mainRef = useRef(null);

  useEffect(() => {
    // After any login (the first included): refresh the model and send
    // what waited.
    const stop = sessionState.subscribe((value) => {
      if (value === 'ok') { loadModel().catch(() => {}); flush(); pollSync(); }
    });
    restoreSession().then(startSyncPolling);
    return stop;
  }, []);

  // Move focus to the new screen, for keyboards and screen readers; a screen
  // that names its own first field (capture, search) gets it instead.
  const routeKey = route.path;
  useEffect(() => {
    // A message about the previous screen would only hide this one.
    toast.set(null);
    const main = mainRef.current;
    if (!main || loginPrompt.get()) return;
    const timer = setTimeout(() => {
      const target = main.querySelector('[autofocus]') || main.querySelector('h1');
      if (target) target.focus({ preventScroll: false });
    }, 0);
    return () => clearTimeout(timer);
  }, [routeKey, state === 'unknown']);

  const current = route.parts[0] || 'capture';
  const ready = state === 'ok' || state === 'offline';

  return (
    <div class="app" data-lang={lang}>
      <a class="skip" href="#main" onClick={(e) => { e.preventDefault(); mainRef.current?.focus(); }}>
        {t('nav.skip')}
      </a>
      <div class="frame" inert={prompt ? true : undefined} aria-hidden={prompt ? 'true' : undefined}>
        <header class="topbar">
          <a class="brand" href="#/capture">Relais</a>
          <SyncBadge />
          <button type="button" class="lang-switch" lang={lang === 'fr' ? 'en' : 'fr'}
            aria-label={t('lang.switchTo')} onClick={() => setLang(lang === 'fr' ? 'en' : 'fr')}>
            {lang === 'fr' ? 'EN' : 'FR'}
          </button>
        </header>
        {ok === false && (
          <div class="banner" role="alert" id="unreachable-banner">
            <strong>{t('banner.unreachable')}</strong> {t('banner.unreachableMore')}
          </div>
        )}
        <OutboxNotice />
        <main id="main" ref={mainRef} tabindex="-1">
          {ready ? <Screen route={route} /> : <p class="loading">{t('common.loading')}</p>}
        </main>
        <TabBar current={current} />
      </div>
      <Toast />
      {prompt && <Login reason={prompt.reason} />}
    </div>
  );
}
