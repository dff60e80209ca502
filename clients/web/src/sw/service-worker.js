/* Relais service worker: opens the app with no network.
 *
 * The app shell (index.html and the hashed assets of this build) is cached
 * at install, then served from the cache first, so the app opens at once even
 * when `relais serve` cannot be reached. API calls are never answered from a
 * cache: personal data must not linger in the browser, and a stale answer
 * would hide that the replica is out of reach.
 */
const VERSION = '__RELAIS_VERSION__';
const CACHE = 'relais-shell-' + VERSION;
const SHELL = self.__RELAIS_SHELL__;

self.addEventListener('install', (event) => {
  event.waitUntil(
    caches.open(CACHE)
      .then((cache) => cache.addAll(SHELL.map((path) => new Request(path, { cache: 'reload' }))))
      .then(() => self.skipWaiting()),
  );
});

self.addEventListener('activate', (event) => {
  event.waitUntil(
    caches.keys()
      .then((names) => Promise.all(names
        .filter((name) => name.startsWith('relais-shell-') && name !== CACHE)
        .map((name) => caches.delete(name))))
      .then(() => self.clients.claim()),
  );
});

self.addEventListener('fetch', (event) => {
  const request = event.request;
  if (request.method !== 'GET') return;
  const url = new URL(request.url);
  if (url.origin !== self.location.origin) return;
  if (url.pathname.startsWith('/api/')) return; // straight to the network

  if (request.mode === 'navigate') {
    // Every page of the app is index.html (routes live in the hash).
    event.respondWith(
      caches.match('/', { cacheName: CACHE })
        .then((cached) => cached || fetch(request)),
    );
    return;
  }

  event.respondWith(
    caches.match(request, { cacheName: CACHE }).then((cached) => {
      if (cached) return cached;
      return fetch(request).then((response) => {
        // Keep what was missed at install (a file added later, say), but only
        // good, same-origin answers.
        if (response.ok && response.type === 'basic') {
          const copy = response.clone();
          caches.open(CACHE).then((cache) => cache.put(request, copy));
        }
        return response;
      });
    }),
  );
});
