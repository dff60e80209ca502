// The body of POST /api/capture from the capture form's state. Only what was
// filled in is sent: a blank field is not a value.
import { parseTypedDate, needsGuardian } from './dates.js';

export const PERSON_FIELDS = ['first_name', 'last_name', 'phone', 'email', 'birth_date', 'age_band', 'interests'];

export function buildCapture(form, { lang, purposes, today }) {
  const person = {};
  for (const name of ['first_name', 'last_name', 'phone', 'email', 'age_band']) {
    const value = (form[name] || '').trim();
    if (value) person[name] = value;
  }
  const birth = (form.birth_date || '').trim();
  // A date the app cannot read is sent as typed: the server names the field.
  if (birth) person.birth_date = parseTypedDate(birth) || birth;
  if (form.interests?.length) person.interests = [...form.interests];

  const minor = needsGuardian({ birthDate: person.birth_date, ageBand: person.age_band }, today);
  const consents = purposes
    .filter((purpose) => form.consents?.[purpose.id])
    .map((purpose) => ({
      purpose: purpose.id,
      method: 'oral_at_event',
      language: lang,
      guardian_name: minor ? (form.guardian_name || '').trim() : '',
      guardian_relation: minor ? (form.guardian_relation || '') : '',
    }));

  const body = { person, consents };
  if (form.event) body.event = form.event;
  return body;
}
