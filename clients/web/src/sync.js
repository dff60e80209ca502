// The replica's sync state, asked every 5 seconds. This poll is also how the
// app notices that `relais serve` is back, and then sends what waited.
import { api, ApiError } from './api.js';
import { createStore } from './store.js';
import { sessionState, restoreSession } from './session.js';
import { flush, outbox } from './outbox.js';

export const syncState = createStore(null);
export const POLL_MS = 5000;

let timer = null;

export async function pollSync() {
  try {
    if (sessionState.get() === 'offline') await restoreSession();
    if (sessionState.get() !== 'ok') return;
    syncState.set(await api.get('/api/sync', { relogin: false }));
    if (outbox.get().some((item) => !item.error)) flush();
  } catch (error) {
    // Out of reach: `reachable` already says so. Logged out: the next action
    // brings the login screen.
    if (error instanceof ApiError && error.status === 401) syncState.set(null);
  }
}

export function startSyncPolling() {
  if (timer) return;
  pollSync();
  timer = setInterval(pollSync, POLL_MS);
  // Phones pause timers in the background: ask again when the app returns.
  document.addEventListener('visibilitychange', () => {
    if (document.visibilityState === 'visible') pollSync();
  });
}
