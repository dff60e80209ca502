// Shown over the app whenever a session is needed. What was on screen stays
// underneath, untouched; a save refused for want of a session is resent as
// soon as the login succeeds.
import { useEffect, useState } from 'preact/hooks';
import { t, getLang, setLang } from '../i18n.js';
import { login } from '../session.js';
import { readJSON } from '../storage.js';
import { ApiError } from '../api.js';
import { describe } from '../errors.js';
import { TextField, FormError } from '../components/forms.jsx';

function loginError(error) {
  if (error instanceof ApiError) {
    if (error.errorName === 'bad_credentials') return t('login.bad');
    if (error.errorName === 'too_many_attempts') {
      const seconds = Number(error.retryAfter);
      return seconds > 0 ? t('login.tooManyIn', { min: Math.ceil(seconds / 60) }) : t('login.tooMany');
    }
  }
  return describe(error);
}

export function Login({ reason }) {
  const [user, setUser] = useState(() => readJSON('session')?.user || '');
  const [password, setPassword] = useState('');
  const [error, setError] = useState(null);
  const [busy, setBusy] = useState(false);
  const lang = getLang();

  useEffect(() => {
    const input = document.getElementById(user ? 'login-password' : 'login-user');
    input?.focus();
  }, []);

  async function submit(event) {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      await login(user.trim(), password);
    } catch (err) {
      setError(loginError(err));
      setBusy(false);
    }
  }

  return (
    <div class="login-layer" role="dialog" aria-modal="true" aria-labelledby="login-title">
      <form class="login" onSubmit={submit} noValidate id="login-form">
        <div class="login-head">
          <img src="/icons/icon.svg" alt="" width="56" height="56" />
          <h1 id="login-title">Relais</h1>
          <button type="button" class="lang-switch" lang={lang === 'fr' ? 'en' : 'fr'}
            onClick={() => setLang(lang === 'fr' ? 'en' : 'fr')}>
            {lang === 'fr' ? 'English' : 'Français'}
          </button>
        </div>
        <p class="lead">
          {reason === 'expired' ? t('login.expired') : t('login.intro')}
        </p>
        <FormError message={error} id="login-error" />
        <TextField id="login-user" label={t('login.user')} value={user} onValue={setUser}
          autocomplete="username" autocapitalize="none" spellcheck={false} required />
        <TextField id="login-password" label={t('login.password')} type="password" value={password}
          onValue={setPassword} autocomplete="current-password" required />
        <button class="primary big" type="submit" disabled={busy}>
          {busy ? t('login.busy') : t('login.submit')}
        </button>
      </form>
    </div>
  );
}
