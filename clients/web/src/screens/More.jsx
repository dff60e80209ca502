// The screens that do not fit in the tab bar, the language and the account.
import { useStore } from '../store.js';
import { t, getLang, setLang, enumLabel } from '../i18n.js';
import { session, logout } from '../session.js';
import { outbox } from '../outbox.js';

export function More() {
  const me = useStore(session);
  const items = useStore(outbox);
  const lang = getLang();

  function signOut() {
    if (items.length && !confirm(t('more.logoutPending', { n: items.length }))) return;
    logout();
  }

  return (
    <section class="screen more">
      <h1 tabindex="-1">{t('nav.more')}</h1>
      <ul class="cards menu">
        <li><a class="card link" href="#/events">{t('events.title')}</a></li>
        <li><a class="card link" href="#/pipeline">{t('pipeline.title')}</a></li>
        <li><a class="card link" href="#/conflicts">{t('conflicts.title')}</a></li>
        <li><a class="card link" href="#/sync">{t('sync.title')}</a></li>
      </ul>
      <h2>{t('more.language')}</h2>
      <div class="actions" role="group" aria-label={t('more.language')}>
        <button type="button" class={lang === 'fr' ? 'primary' : 'secondary'} aria-pressed={lang === 'fr'}
          lang="fr" onClick={() => setLang('fr')}>Français</button>
        <button type="button" class={lang === 'en' ? 'primary' : 'secondary'} aria-pressed={lang === 'en'}
          lang="en" onClick={() => setLang('en')}>English</button>
      </div>
      {me && (
        <>
          <h2>{t('more.account')}</h2>
          <p>{t('more.signedIn', { user: me.user, role: enumLabel('session', 'role', me.role), site: me.site })}</p>
          <button type="button" class="secondary" id="logout" onClick={signOut}>{t('more.logout')}</button>
        </>
      )}
    </section>
  );
}
