import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import fr from '../src/messages/fr.js';
import en from '../src/messages/en.js';
import { t, tn, enumLabel, purposeLabel, localized } from '../src/i18n.js';

test('both catalogues have the same keys, none empty', () => {
  const missingInEn = Object.keys(fr).filter((k) => !(k in en));
  const missingInFr = Object.keys(en).filter((k) => !(k in fr));
  assert.deepEqual(missingInEn, []);
  assert.deepEqual(missingInFr, []);
  for (const [k, v] of [...Object.entries(fr), ...Object.entries(en)]) assert.ok(v.trim(), k);
});

function sources(dir) {
  return readdirSync(dir).flatMap((name) => {
    const full = join(dir, name);
    return statSync(full).isDirectory() ? sources(full) : /\.(js|jsx)$/.test(name) ? [full] : [];
  });
}

test('every literal key used in the code is in the catalogues', () => {
  const src = new URL('../src/', import.meta.url).pathname;
  const missing = [];
  for (const file of sources(src)) {
    const text = readFileSync(file, 'utf8');
    for (const m of text.matchAll(/\bt\('([\w.]+)'\s*[,)]/g)) if (!(m[1] in fr)) missing.push(`${m[1]} (${file})`);
    for (const m of text.matchAll(/\btn\('([\w.]+)'\s*[,)]/g)) {
      for (const form of ['one', 'other']) if (!(`${m[1]}.${form}` in fr)) missing.push(`${m[1]}.${form}`);
    }
  }
  assert.deepEqual(missing, []);
});

test('every field and value of the data model has a label in both languages', () => {
  const schema = JSON.parse(readFileSync(new URL('../../../schema/relais.schema.json', import.meta.url), 'utf8'));
  const missing = [];
  const has = (cat, keys) => keys.some((k) => k in cat);
  for (const entity of schema.entities) {
    for (const field of entity.fields) {
      for (const [lang, cat] of [['fr', fr], ['en', en]]) {
        if (!has(cat, [`field.${entity.name}.${field.name}`, `field.${field.name}`])) {
          missing.push(`${lang} field ${entity.name}.${field.name}`);
        }
        for (const value of field.values || []) {
          if (!has(cat, [`enum.${entity.name}.${field.name}.${value}`, `enum.${field.name}.${value}`])) {
            missing.push(`${lang} ${entity.name}.${field.name}=${value}`);
          }
        }
      }
    }
  }
  assert.deepEqual(missing, []);
});

test('lookups, parameters, plurals and fallbacks', () => {
  assert.equal(t('capture.age', { n: 16 }, 'fr'), '16 ans');
  assert.equal(t('capture.age', { n: 16 }, 'en'), '16 years old');
  assert.equal(tn('search.count', 1, {}, 'fr'), '1 jeune trouvé');
  assert.equal(tn('search.count', 0, {}, 'fr'), '0 jeune trouvé');
  assert.equal(tn('search.count', 3, {}, 'en'), '3 young people found');
  assert.equal(t('no.such.key', null, 'en'), 'no.such.key');
  assert.equal(enumLabel('referral', 'stage', 'contacted', 'fr'), 'Contacté');
  assert.equal(enumLabel('event', 'kind', 'street_outreach', 'en'), 'street outreach');
  assert.equal(enumLabel('person', 'situation', 'retired', 'fr'), 'retired');
  assert.equal(purposeLabel({ id: 'x', label: { fr: 'Ex', en: 'Ex-en' } }, 'en'), 'Ex-en');
  assert.equal(purposeLabel('referral', 'fr'), 'Orientation vers un partenaire ou un dispositif');
  assert.equal(localized({ version: 1, fr: 'bonjour', en: 'hello' }, 'en'), 'hello');
});
