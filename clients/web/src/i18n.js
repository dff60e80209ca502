// Two message catalogues, French first. Every string the app shows comes
// from them, including the labels of fields and of enum values (the API
// sends only the values).
import fr from './messages/fr.js';
import en from './messages/en.js';
import { createStore } from './store.js';
import { readJSON, writeJSON } from './storage.js';

export const catalogues = { fr, en };
export const LANGS = ['fr', 'en'];

export const language = createStore(readJSON('lang') === 'en' ? 'en' : 'fr');

export function getLang() { return language.get(); }

export function setLang(lang) {
  if (!LANGS.includes(lang)) return;
  writeJSON('lang', lang);
  if (typeof document !== 'undefined') document.documentElement.lang = lang;
  language.set(lang);
}

function lookup(key, lang) {
  const own = catalogues[lang];
  if (own && Object.prototype.hasOwnProperty.call(own, key)) return own[key];
  if (Object.prototype.hasOwnProperty.call(fr, key)) return fr[key];
  return undefined;
}

function fill(text, params) {
  if (!params) return text;
  return text.replace(/\{(\w+)\}/g, (whole, name) => (name in params ? String(params[name]) : whole));
}

export function t(key, params, lang = getLang()) {
  const text = lookup(key, lang);
  return text === undefined ? key : fill(text, params);
}

// Plurals: `key.one` / `key.other`, chosen by the language's own rules.
export function tn(key, count, params = {}, lang = getLang()) {
  const form = new Intl.PluralRules(lang).select(count) === 'one' ? 'one' : 'other';
  return t(`${key}.${form}`, { n: count, ...params }, lang);
}

export function hasKey(key, lang = getLang()) {
  return lookup(key, lang) !== undefined;
}

// `field.ENTITY.NAME`, falling back on `field.NAME` for names shared by
// several entities (date, site...), then on the raw name.
export function fieldLabel(entity, field, lang = getLang()) {
  for (const key of [`field.${entity}.${field}`, `field.${field}`]) {
    const text = lookup(key, lang);
    if (text !== undefined) return text;
  }
  return field;
}

export function enumLabel(entity, field, value, lang = getLang()) {
  if (value == null || value === '') return '';
  for (const key of [`enum.${entity}.${field}.${value}`, `enum.${field}.${value}`]) {
    const text = lookup(key, lang);
    if (text !== undefined) return text;
  }
  return String(value);
}

// The API may send a purpose label as one string or as {fr, en}.
export function localized(value, lang = getLang()) {
  if (value == null) return '';
  if (typeof value === 'string') return value;
  return value[lang] ?? value.fr ?? value.en ?? '';
}

export function purposeLabel(purpose, lang = getLang()) {
  const id = typeof purpose === 'string' ? purpose : purpose.id;
  const own = lookup(`purpose.${id}`, lang);
  if (own !== undefined) return own;
  return typeof purpose === 'string' ? purpose : localized(purpose.label, lang) || id;
}

export function enumOptions(entity, field, values, lang = getLang()) {
  return (values || []).map((value) => ({ value, label: enumLabel(entity, field, value, lang) }));
}
