// Dates as the API writes them: `YYYY-MM-DD` for days (local calendar day of
// the counsellor), ISO 8601 UTC for instants.

function pad(n) { return String(n).padStart(2, '0'); }

export function todayISO(now = new Date()) {
  return `${now.getFullYear()}-${pad(now.getMonth() + 1)}-${pad(now.getDate())}`;
}

export function parseISODate(text) {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(text || '');
  if (!m) return null;
  const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const date = new Date(Date.UTC(y, mo - 1, d));
  // Reject 2024-02-31 and the like, which Date would roll over.
  if (date.getUTCFullYear() !== y || date.getUTCMonth() !== mo - 1 || date.getUTCDate() !== d) return null;
  return { y, mo, d };
}

// Age in whole years on a given day; null when the birth date is not a real
// date or lies in the future.
export function ageOn(birthISO, dayISO = todayISO()) {
  const b = parseISODate(birthISO), t = parseISODate(dayISO);
  if (!b || !t) return null;
  let age = t.y - b.y;
  if (t.mo < b.mo || (t.mo === b.mo && t.d < b.d)) age -= 1;
  return age < 0 ? null : age;
}

// Under 15, consent is given jointly with a parent or guardian (France).
export const GUARDIAN_AGE = 15;

export function needsGuardian({ birthDate, ageBand }, dayISO = todayISO()) {
  const age = ageOn(birthDate, dayISO);
  if (age != null) return age < GUARDIAN_AGE;
  return ageBand === 'under_15';
}

export function formatDate(iso, lang) {
  const p = parseISODate(iso);
  if (!p) return iso || '';
  return new Intl.DateTimeFormat(lang === 'en' ? 'en-GB' : 'fr-FR', {
    day: 'numeric', month: 'short', year: 'numeric', timeZone: 'UTC',
  }).format(new Date(Date.UTC(p.y, p.mo - 1, p.d)));
}

export function formatDateTime(iso, lang) {
  if (!iso) return '';
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return iso;
  return new Intl.DateTimeFormat(lang === 'en' ? 'en-GB' : 'fr-FR', {
    day: 'numeric', month: 'short', hour: '2-digit', minute: '2-digit',
  }).format(date);
}

export function formatTime(iso, lang) {
  if (!iso) return '';
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return iso;
  return new Intl.DateTimeFormat(lang === 'en' ? 'en-GB' : 'fr-FR', {
    hour: '2-digit', minute: '2-digit',
  }).format(date);
}

// Birth dates are typed, not picked: on a phone, typing 8 digits is much
// faster than scrolling a calendar back 17 years. Accepts 14/05/2009,
// 14-05-2009, 14.05.2009, 14052009 and 2009-05-14; returns YYYY-MM-DD, or
// null when the text is not a real date.
export function parseTypedDate(text) {
  const s = String(text || '').trim();
  let m = /^(\d{4})-(\d{1,2})-(\d{1,2})$/.exec(s);
  let y, mo, d;
  if (m) [y, mo, d] = [m[1], m[2], m[3]];
  else if ((m = /^(\d{1,2})[/.\-\s](\d{1,2})[/.\-\s](\d{4})$/.exec(s))) [d, mo, y] = [m[1], m[2], m[3]];
  else if ((m = /^(\d{2})(\d{2})(\d{4})$/.exec(s))) [d, mo, y] = [m[1], m[2], m[3]];
  else return null;
  const iso = `${y}-${pad(Number(mo))}-${pad(Number(d))}`;
  return parseISODate(iso) ? iso : null;
}

export function toTypedDate(iso) {
  const p = parseISODate(iso);
  return p ? `${pad(p.d)}/${pad(p.mo)}/${p.y}` : (iso || '');
}
