// Saves that could not reach the replica wait here, in localStorage, and are
// resent in order as soon as it answers again. A capture made at a job fair
// with the replica out of reach is therefore never lost, and the counsellor
// can go on with the next young person.
import { request, ApiError, NetworkError, isNotLoggedIn, reachable } from './api.js';
import { createStore } from './store.js';
import { readJSON, writeJSON } from './storage.js';
import { sessionState, restoreSession } from './session.js';

export const outbox = createStore(readJSON('outbox', []));
// Told once for every item saved from the outbox: { item, result }.
export const outboxEvents = createStore(null);

function save(items) {
  writeJSON('outbox', items);
  outbox.set(items);
}

function newId() {
  return Date.now().toString(36) + Math.random().toString(36).slice(2, 8);
}

// item: { kind, method, path, body, label, ref? }
export function enqueue(item) {
  const entry = { ...item, id: newId(), queuedAt: new Date().toISOString(), error: null };
  save([...outbox.get(), entry]);
  return entry;
}

export function discard(id) {
  save(outbox.get().filter((item) => item.id !== id));
}

export function pendingCount() {
  return outbox.get().filter((item) => !item.error).length;
}

// Sends a save now; if the replica cannot be reached, queues it instead.
// Returns { saved: true, result } or { queued: true, item }. Refusals
// (ApiError) are thrown for the form to show.
export async function saveOrQueue(item) {
  try {
    const result = await request(item.method, item.path, item.body);
    return { saved: true, result };
  } catch (error) {
    if (error instanceof NetworkError) return { queued: true, item: enqueue(item) };
    throw error;
  }
}

let flushing = null;

export function flush() {
  if (!flushing) flushing = run().finally(() => { flushing = null; });
  return flushing;
}

async function run() {
  if (!outbox.get().some((item) => !item.error)) return;
  if (sessionState.get() !== 'ok') {
    await restoreSession();
    if (sessionState.get() !== 'ok') return; // login screen shown; flushed after login
  }
  for (const item of outbox.get()) {
    if (item.error) continue;
    try {
      const result = await request(item.method, item.path, item.body);
      discard(item.id);
      outboxEvents.set({ item, result });
    } catch (error) {
      if (error instanceof NetworkError) return; // still out of reach: keep the rest
      if (isNotLoggedIn(error)) return;
      if (error instanceof ApiError) {
        // Refused for good (bad value, consent...): keep it, with the reason,
        // until the counsellor corrects or discards it.
        save(outbox.get().map((other) => other.id === item.id
          ? { ...other, error: { message: error.message, field: error.field, name: error.errorName } }
          : other));
        continue;
      }
      return;
    }
  }
}

// Try again whenever the replica answers after having been out of reach.
reachable.subscribe((ok) => { if (ok) flush(); });
if (typeof window !== 'undefined') window.addEventListener('online', () => flush());
