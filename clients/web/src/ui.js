// A short message shown after an action (saved, queued...), read out by
// screen readers through a polite live region.
import { createStore } from './store.js';

export const toast = createStore(null);
let timer = null;

// toast: { text, kind?, link?: { href, text } }
export function showToast(value, ms = 7000) {
  clearTimeout(timer);
  toast.set({ ...value, at: Date.now() });
  timer = setTimeout(() => toast.set(null), ms);
}
