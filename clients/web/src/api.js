// The only place that talks to `relais serve`. It knows three outcomes:
// an answer, a refusal (ApiError, with the server's field and message), or
// no answer at all (NetworkError: the replica cannot be reached).
import { createStore } from './store.js';

// null until the first request tells; then true or false.
export const reachable = createStore(null);

let csrfToken = null;
export function setCsrf(token) { csrfToken = token || null; }

export class ApiError extends Error {
  constructor(status, error) {
    super(error?.message || `HTTP ${status}`);
    this.status = status;
    this.code = error?.code ?? null;
    this.errorName = error?.name || 'http_' + status;
    this.field = error?.field || null;
  }
}

export class NetworkError extends Error {
  constructor(cause) {
    super('relais serve cannot be reached');
    this.cause = cause;
  }
}

// Set by the app: returns a promise that settles once the user has logged in
// again. Requests refused with `not_logged_in` wait for it, then are resent
// as they were, so a form being saved is not lost.
let loginHandler = null;
export function onLoginRequired(handler) { loginHandler = handler; }

// Set by the app: fetches the session's CSRF token again (the app was opened
// while the replica was out of reach, so it never got one).
let csrfHandler = null;
export function onCsrfMissing(handler) { csrfHandler = handler; }

async function send(method, path, body, signal) {
  const headers = { Accept: 'application/json' };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (method !== 'GET' && csrfToken) headers['X-Relais-CSRF'] = csrfToken;
  let response;
  try {
    response = await fetch(path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: 'same-origin',
      cache: 'no-store',
      signal,
    });
  } catch (cause) {
    if (cause?.name === 'AbortError') throw cause;
    reachable.set(false);
    throw new NetworkError(cause);
  }
  let data = null;
  const text = await response.text().catch(() => '');
  if (text) {
    try { data = JSON.parse(text); } catch { data = null; }
  }
  // A gateway between the phone and the replica may answer for it when the
  // replica is down; only a JSON refusal comes from `relais serve` itself.
  if (!response.ok && !data?.error && [502, 503, 504].includes(response.status)) {
    reachable.set(false);
    throw new NetworkError(new Error(`HTTP ${response.status}`));
  }
  reachable.set(true);
  if (!response.ok) {
    const error = new ApiError(response.status, data?.error);
    error.retryAfter = response.headers.get('Retry-After');
    throw error;
  }
  return data;
}

export function isNotLoggedIn(error) {
  return error instanceof ApiError && error.status === 401 && error.errorName !== 'bad_credentials';
}

export async function request(method, path, body, { relogin = true, signal } = {}) {
  try {
    return await send(method, path, body, signal);
  } catch (error) {
    if (relogin && loginHandler && isNotLoggedIn(error)) {
      await loginHandler();
      return send(method, path, body, signal);
    }
    if (relogin && csrfHandler && error instanceof ApiError && error.errorName === 'csrf') {
      await csrfHandler();
      return send(method, path, body, signal); // once: a refusal for another origin stays one
    }
    throw error;
  }
}

export const api = {
  get: (path, options) => request('GET', path, undefined, options),
  post: (path, body, options) => request('POST', path, body ?? {}, options),
  patch: (path, body, options) => request('PATCH', path, body, options),
  del: (path, options) => request('DELETE', path, undefined, options),
};

export function qs(params) {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) {
    if (value !== undefined && value !== null && value !== '') search.set(key, value);
  }
  const text = search.toString();
  return text ? '?' + text : '';
}
