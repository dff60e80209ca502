// The data model (GET /api/model) and the reference lists a form needs
// (events, programmes, partners). They hold no personal data, so they are
// kept in localStorage: the capture form must open with no network.
import { api, NetworkError } from './api.js';
import { createStore } from './store.js';
import { readJSON, writeJSON } from './storage.js';

export const model = createStore(readJSON('cache.model'));

export async function loadModel() {
  try {
    const data = await api.get('/api/model');
    writeJSON('cache.model', data);
    model.set(data);
    return data;
  } catch (error) {
    if (error instanceof NetworkError && model.get()) return model.get();
    throw error;
  }
}

export function entityOf(m, name) {
  return m?.entities?.find((entity) => entity.name === name) || null;
}

export function fieldOf(m, entity, field) {
  return entityOf(m, entity)?.fields?.find((f) => f.name === field) || null;
}

export function enumValues(m, entity, field) {
  return fieldOf(m, entity, field)?.values || [];
}

export function consentPurposes(m) {
  return m?.consent_purposes || [];
}

// Reference lists, by entity: records cached for offline use.
const LISTS = ['event', 'programme', 'partner'];
export const lists = Object.fromEntries(
  LISTS.map((entity) => [entity, createStore(readJSON('cache.' + entity, null))]),
);

export async function loadList(entity) {
  const store = lists[entity];
  try {
    const data = await api.get(`/api/records/${entity}?limit=500`);
    const records = (data.records || []).filter((record) => !record.deleted);
    writeJSON('cache.' + entity, records);
    store.set(records);
    return records;
  } catch (error) {
    if (error instanceof NetworkError && store.get()) return store.get();
    throw error;
  }
}

export function eventsNewestFirst(records) {
  return [...(records || [])].sort((a, b) =>
    String(b.fields.date || '').localeCompare(String(a.fields.date || '')));
}

export function recordName(record) {
  if (!record) return '';
  const f = record.fields || {};
  return f.name || f.title || [f.first_name, f.last_name].filter(Boolean).join(' ') || record.id;
}
