// Who is logged in. The session itself is an HttpOnly cookie; the app keeps
// the CSRF token in memory only, and the user, role and site in storage so
// that the app can still open (and queue captures) when the replica is out
// of reach.
import { api, request, setCsrf, onLoginRequired, onCsrfMissing, ApiError } from './api.js';
import { createStore } from './store.js';
import { readJSON, writeJSON, removeKey, removeDrafts } from './storage.js';

export const session = createStore(null);
// 'unknown' at start, 'ok', 'offline' (known user, replica out of reach),
// 'anonymous'.
export const sessionState = createStore('unknown');
// Non-null while the login screen must be shown: { reason }.
export const loginPrompt = createStore(null);

let waiting = [];

function accept(data) {
  setCsrf(data.csrf);
  const { csrf: _omit, ...visible } = data;
  writeJSON('session', visible);
  session.set(visible);
  sessionState.set('ok');
}

export function requireLogin(reason = 'expired') {
  if (!loginPrompt.get()) loginPrompt.set({ reason });
  return new Promise((resolve) => waiting.push(resolve));
}

onLoginRequired(() => requireLogin('expired'));
onCsrfMissing(async () => {
  const data = await request('GET', '/api/session', undefined);
  accept(data);
});

export async function restoreSession() {
  try {
    accept(await request('GET', '/api/session', undefined, { relogin: false }));
  } catch (error) {
    if (error instanceof ApiError) {
      sessionState.set('anonymous');
      requireLogin('start');
    } else {
      const known = readJSON('session');
      if (known) {
        session.set(known);
        sessionState.set('offline');
      } else {
        sessionState.set('anonymous');
        requireLogin('start');
      }
    }
  }
}

export async function login(user, password) {
  const data = await request('POST', '/api/login', { user, password }, { relogin: false });
  const previous = readJSON('session');
  // Another user on this phone must not find the previous one's drafts.
  if (previous && previous.user !== data.user) removeDrafts();
  accept(data);
  loginPrompt.set(null);
  const resolvers = waiting;
  waiting = [];
  for (const resolve of resolvers) resolve();
  return data;
}

export async function logout() {
  try { await api.post('/api/logout', {}, { relogin: false }); } catch { /* ends locally anyway */ }
  setCsrf(null);
  removeDrafts();
  removeKey('session');
  session.set(null);
  sessionState.set('anonymous');
  requireLogin('logout');
}
