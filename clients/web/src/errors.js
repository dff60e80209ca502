// Turns what the API refused into what a form shows: a message beside the
// field the server named, or one for the whole form.
import { ApiError, NetworkError } from './api.js';
import { t, hasKey } from './i18n.js';

// The server may name a field plainly (`email`) or with a path
// (`person.email`, `consents[0].guardian_name`): forms use the last part.
export function fieldKey(field) {
  if (!field) return null;
  return String(field).split('.').pop().replace(/\[\d+\]$/, '');
}

export function describe(error) {
  if (error instanceof NetworkError) return t('error.unreachable');
  if (error instanceof ApiError) {
    const key = 'error.' + error.errorName;
    const summary = hasKey(key) ? t(key) : '';
    return error.message && error.message !== summary
      ? (summary ? `${summary} ${error.message}` : error.message)
      : summary || error.message;
  }
  return t('error.unexpected');
}

// { fields: { name: message }, form: message|null } for a form that knows
// the given field names; a refusal about another field goes to the form.
export function formErrors(error, knownFields = []) {
  if (error instanceof ApiError && error.field) {
    const key = fieldKey(error.field);
    if (knownFields.includes(key)) return { fields: { [key]: error.message }, form: null, field: key };
  }
  return { fields: {}, form: describe(error), field: null };
}
