import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildCapture } from '../src/capture-body.js';
import { fieldKey } from '../src/errors.js';

const purposes = [{ id: 'referral' }, { id: 'programme_news' }];

test('only what was filled is sent, with the consents ticked', () => {
  const body = buildCapture({
    event: 'E1', first_name: ' Inès ', last_name: 'Martin', phone: '06 12 34 56 78', email: '',
    birth_date: '14/05/2006', age_band: '', interests: ['catering'],
    consents: { referral: true, programme_news: false }, guardian_name: 'X', guardian_relation: 'parent',
  }, { lang: 'fr', purposes, today: '2024-06-01' });
  assert.deepEqual(body, {
    event: 'E1',
    person: { first_name: 'Inès', last_name: 'Martin', phone: '06 12 34 56 78', birth_date: '2006-05-14', interests: ['catering'] },
    consents: [{ purpose: 'referral', method: 'oral_at_event', language: 'fr', guardian_name: '', guardian_relation: '' }],
  });
});

test('under 15 the guardian goes with each consent; a bad date is sent as typed', () => {
  const minor = buildCapture({
    first_name: 'A', last_name: 'B', birth_date: '01/01/2015', consents: { referral: true, programme_news: true },
    guardian_name: 'Nadia B', guardian_relation: 'parent',
  }, { lang: 'en', purposes, today: '2024-06-01' });
  assert.equal(minor.event, undefined);
  assert.equal(minor.consents.length, 2);
  assert.deepEqual(minor.consents.map((c) => [c.guardian_name, c.guardian_relation, c.language]),
    [['Nadia B', 'parent', 'en'], ['Nadia B', 'parent', 'en']]);
  const bad = buildCapture({ first_name: 'A', last_name: 'B', birth_date: '32/13/2001' }, { lang: 'fr', purposes, today: '2024-06-01' });
  assert.equal(bad.person.birth_date, '32/13/2001');
});

test('the field an error names is found whatever its path', () => {
  assert.equal(fieldKey('email'), 'email');
  assert.equal(fieldKey('person.email'), 'email');
  assert.equal(fieldKey('consents[0].guardian_name'), 'guardian_name');
  assert.equal(fieldKey('consents[1]'), 'consents');
  assert.equal(fieldKey(null), null);
});

test('phones read in pairs', async () => {
  const { formatPhone } = await import('../src/format.js');
  assert.equal(formatPhone('0612345678'), '06 12 34 56 78');
  assert.equal(formatPhone('+33612345678'), '+33 6 12 34 56 78');
  assert.equal(formatPhone('+4930123456'), '+4930123456');
  assert.equal(formatPhone(null), '');
});

test('the time of a conflicting value, from `at` or from the clock', async () => {
  const { writtenAt } = await import('../src/format.js');
  assert.equal(writtenAt({ at: '2026-12-03T22:00:00Z' }), '2026-12-03T22:00:00Z');
  const ms = Date.UTC(2026, 11, 3, 22, 0, 0);
  assert.equal(writtenAt({ hlc: (BigInt(ms) << 16n).toString(16).padStart(16, '0') }), new Date(ms).toISOString());
  assert.equal(writtenAt({ hlc: ms * 65536 + 3 }), new Date(ms).toISOString());
  assert.equal(writtenAt({}), null);
});
