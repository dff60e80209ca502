// One field of a record, as an input chosen from its type in the model, and
// the same field shown as text. Dates are typed as DD/MM/YYYY (see dates.js).
import { t, fieldLabel, enumLabel, enumOptions } from '../i18n.js';
import { formatDate, formatDateTime, parseTypedDate, toTypedDate } from '../dates.js';
import { formatPhone } from '../format.js';
import { TextField, TextArea, SelectField, ChipGroup, CheckboxField } from './forms.jsx';

const INPUT_ATTRS = {
  phone: { type: 'tel', inputmode: 'tel', autocomplete: 'tel' },
  email: { type: 'email', inputmode: 'email', autocapitalize: 'none', spellcheck: false, autocomplete: 'email' },
  postal_code: { inputmode: 'numeric', autocomplete: 'postal-code' },
  integer: { inputmode: 'numeric' },
};

const PERSON_AUTOCOMPLETE = { first_name: 'given-name', last_name: 'family-name', commune: 'address-level2', birth_date: 'bday' };

// Form state of a field from its stored value.
export function toFormValue(type, value) {
  if (value == null) return type === 'enum_set' || type === 'reference_set' ? [] : type === 'boolean' ? false : '';
  if (type === 'date') return toTypedDate(value);
  if (type === 'integer') return String(value);
  return value;
}

// Stored value from the form state: null clears the field. An unreadable
// date is sent as typed, for the server to name the field.
export function fromFormValue(type, value) {
  if (type === 'enum_set' || type === 'reference_set') return value && value.length ? value : null;
  if (type === 'phone') return formatPhone(value);
  if (type === 'boolean') return !!value;
  const text = String(value ?? '').trim();
  if (!text) return null;
  if (type === 'date') return parseTypedDate(text) || text;
  if (type === 'integer' && /^-?\d+$/.test(text)) return Number(text);
  return text;
}

export function sameValue(a, b) {
  const norm = (v) => (v == null || v === '' || (Array.isArray(v) && !v.length) ? null : Array.isArray(v) ? v.join('\u0000') : v);
  return norm(a) === norm(b);
}

export function displayValue(entity, field, value, lang, names = {}) {
  if (value == null || value === '' || (Array.isArray(value) && !value.length)) return '';
  const type = field.type;
  if (type === 'enum') return enumLabel(entity, field.name, value, lang);
  if (type === 'enum_set') return value.map((v) => enumLabel(entity, field.name, v, lang)).join(', ');
  if (type === 'date') return formatDate(value, lang);
  if (type === 'datetime') return formatDateTime(value, lang);
  if (type === 'boolean') return value ? t('common.yes', null, lang) : t('common.no', null, lang);
  if (type === 'reference') return names[value] || value;
  if (type === 'reference_set') return value.map((v) => names[v] || v).join(', ');
  return String(value);
}

export function RecordField({ entity, field, idPrefix, value, onValue, error, lang }) {
  const id = `${idPrefix}-${field.name}`;
  const label = fieldLabel(entity, field.name, lang);
  const common = { id, label, error, required: field.required };
  switch (field.type) {
    case 'enum':
      return <SelectField {...common} value={value} onValue={onValue} empty="—"
        options={enumOptions(entity, field.name, field.values, lang)} />;
    case 'enum_set':
      return <ChipGroup id={id} legend={label} error={error} values={value} onValues={onValue}
        options={enumOptions(entity, field.name, field.values, lang)} />;
    case 'boolean':
      return <CheckboxField id={id} label={label} checked={value} onChecked={onValue} error={error} />;
    case 'text':
      return <TextArea {...common} value={value} onValue={onValue} rows={3} />;
    case 'date':
      return <TextField {...common} value={value} onValue={onValue} inputmode="numeric"
        placeholder={t('form.datePlaceholder', null, lang)} autocomplete={entity === 'person' ? PERSON_AUTOCOMPLETE[field.name] : 'off'} />;
    default:
      return <TextField {...common} value={value} onValue={onValue} {...(INPUT_ATTRS[field.type] || {})}
        autocomplete={INPUT_ATTRS[field.type]?.autocomplete || (entity === 'person' && PERSON_AUTOCOMPLETE[field.name]) || 'off'} />;
  }
}
