// Loading data for a screen: the last request wins, so a slow answer for an
// old query never replaces the answer for the current one.
import { useCallback, useEffect, useRef, useState } from 'preact/hooks';

export function useLoad(load, deps) {
  const [state, setState] = useState({ data: null, error: null, loading: true });
  const serial = useRef(0);
  const run = useCallback(() => {
    const mine = ++serial.current;
    setState((s) => ({ ...s, loading: true }));
    return Promise.resolve()
      .then(load)
      .then((data) => { if (mine === serial.current) setState({ data, error: null, loading: false }); },
        (error) => { if (mine === serial.current) setState((s) => ({ data: s.data, error, loading: false })); });
  }, deps); // eslint-disable-line react-hooks/exhaustive-deps
  useEffect(() => { run(); }, [run]);
  return { ...state, reload: run, setData: (data) => setState((s) => ({ ...s, data })) };
}

export function useDebounced(value, delay) {
  const [current, setCurrent] = useState(value);
  useEffect(() => {
    const timer = setTimeout(() => setCurrent(value), delay);
    return () => clearTimeout(timer);
  }, [value, delay]);
  return current;
}
