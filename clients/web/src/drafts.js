// Form state kept in localStorage as it is typed, so that a reload, a crash
// of the browser or a login in between does not lose it.
import { useCallback, useState } from 'preact/hooks';
import { readJSON, writeJSON, removeKey } from './storage.js';

export function useDraft(key, initial) {
  const storageKey = 'draft.' + key;
  const [value, setValue] = useState(() => ({ ...initial, ...(readJSON(storageKey) || {}) }));
  const update = useCallback((patch) => {
    setValue((current) => {
      const next = typeof patch === 'function' ? patch(current) : { ...current, ...patch };
      writeJSON(storageKey, next);
      return next;
    });
  }, [storageKey]);
  const reset = useCallback((next = initial) => {
    removeKey(storageKey);
    setValue({ ...next });
  }, [storageKey]); // eslint-disable-line react-hooks/exhaustive-deps
  return [value, update, reset];
}
