// Routes live in the hash (#/person/ID): the app then works from any URL the
// server or the service worker hands out, and reloads keep the screen.
import { useEffect, useState } from 'preact/hooks';

export function parseHash(hash) {
  const text = (hash || '').replace(/^#/, '') || '/';
  const [path, query = ''] = text.split('?');
  const parts = path.split('/').filter(Boolean).map(decodeURIComponent);
  return { parts, query: new URLSearchParams(query), path };
}

export function useRoute() {
  const [hash, setHash] = useState(() => location.hash);
  useEffect(() => {
    const onChange = () => setHash(location.hash);
    window.addEventListener('hashchange', onChange);
    // The address may have changed between the first render and now (a link
    // followed while the app was starting): that change sent no event here.
    onChange();
    return () => window.removeEventListener('hashchange', onChange);
  }, []);
  return parseHash(hash);
}

export function navigate(path) {
  location.hash = path.startsWith('#') ? path : '#' + path;
}

// Changes the address without a new history entry (search as one types).
export function replaceRoute(path) {
  const url = location.pathname + location.search + (path.startsWith('#') ? path : '#' + path);
  history.replaceState(history.state, '', url);
}

export function href(...parts) {
  return '#/' + parts.map((part) => encodeURIComponent(part)).join('/');
}
