// localStorage, tolerant of its absence (tests under Node, private browsing
// with storage disabled) and of a full quota: the app must keep working.
const PREFIX = 'relais.';

function backend() {
  try { return globalThis.localStorage || null; } catch { return null; }
}

export function readJSON(key, fallback = null) {
  const store = backend();
  if (!store) return fallback;
  try {
    const text = store.getItem(PREFIX + key);
    return text == null ? fallback : JSON.parse(text);
  } catch {
    return fallback;
  }
}

export function writeJSON(key, value) {
  const store = backend();
  if (!store) return false;
  try {
    store.setItem(PREFIX + key, JSON.stringify(value));
    return true;
  } catch {
    return false;
  }
}

export function removeKey(key) {
  const store = backend();
  if (store) try { store.removeItem(PREFIX + key); } catch { /* nothing to do */ }
}

// Drafts hold personal data: they are removed together at logout.
export function removeDrafts() {
  const store = backend();
  if (!store) return;
  const keys = [];
  for (let i = 0; i < store.length; i++) {
    const key = store.key(i);
    if (key && key.startsWith(PREFIX + 'draft.')) keys.push(key);
  }
  for (const key of keys) store.removeItem(key);
}
