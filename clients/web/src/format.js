// Phone numbers are stored bare (0612345678, +33612345678); people read them
// in pairs.
export function formatPhone(value) {
  const s = String(value || '');
  if (/^0\d{9}$/.test(s)) return s.replace(/(\d{2})(?=\d)/g, '$1 ');
  const fr = /^\+33(\d)(\d{8})$/.exec(s);
  if (fr) return `+33 ${fr[1]} ${fr[2].replace(/(\d{2})(?=\d)/g, '$1 ')}`;
  return s;
}

// When a conflicting value was written. The API documents `at`; it may send
// the hybrid logical clock instead (`hlc`: milliseconds since the epoch in
// the high 48 bits, as a number or 16 hex digits, docs/oplog.md).
export function writtenAt(value) {
  if (value?.at) return value.at;
  const hlc = value?.hlc;
  if (hlc == null) return null;
  let ms;
  if (typeof hlc === 'string' && /^[0-9a-f]{16}$/i.test(hlc)) ms = Number(BigInt('0x' + hlc) >> 16n);
  else if (typeof hlc === 'number') ms = Math.floor(hlc / 65536);
  else return null;
  return Number.isFinite(ms) && ms > 0 ? new Date(ms).toISOString() : null;
}
