import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ageOn, needsGuardian, parseTypedDate, toTypedDate, parseISODate, todayISO } from '../src/dates.js';

test('age in whole years, birthday included', () => {
  assert.equal(ageOn('2009-05-14', '2024-05-13'), 14);
  assert.equal(ageOn('2009-05-14', '2024-05-14'), 15);
  assert.equal(ageOn('2008-02-29', '2023-02-28'), 14);
  assert.equal(ageOn('2008-02-29', '2023-03-01'), 15);
  assert.equal(ageOn('2030-01-01', '2024-01-01'), null);
  assert.equal(ageOn('not a date', '2024-01-01'), null);
  assert.equal(ageOn('2024-02-31', '2025-01-01'), null);
});

test('a guardian is needed under 15, from the birth date first, else the age band', () => {
  assert.equal(needsGuardian({ birthDate: '2010-06-01' }, '2025-05-31'), true);
  assert.equal(needsGuardian({ birthDate: '2010-06-01' }, '2025-06-01'), false);
  assert.equal(needsGuardian({ ageBand: 'under_15' }, '2025-06-01'), true);
  assert.equal(needsGuardian({ ageBand: '15_17' }, '2025-06-01'), false);
  assert.equal(needsGuardian({ birthDate: '2000-01-01', ageBand: 'under_15' }, '2025-06-01'), false);
  assert.equal(needsGuardian({}, '2025-06-01'), false);
});

test('typed dates in the forms French people write them', () => {
  assert.equal(parseTypedDate('14/05/2009'), '2009-05-14');
  assert.equal(parseTypedDate('4/5/2009'), '2009-05-04');
  assert.equal(parseTypedDate('14.05.2009'), '2009-05-14');
  assert.equal(parseTypedDate('14-05-2009'), '2009-05-14');
  assert.equal(parseTypedDate('14052009'), '2009-05-14');
  assert.equal(parseTypedDate(' 2009-05-14 '), '2009-05-14');
  assert.equal(parseTypedDate('31/02/2009'), null);
  assert.equal(parseTypedDate('2009'), null);
  assert.equal(parseTypedDate(''), null);
  assert.equal(toTypedDate('2009-05-14'), '14/05/2009');
  assert.equal(toTypedDate(''), '');
});

test('today is the local calendar day', () => {
  assert.equal(todayISO(new Date(2024, 0, 9, 23, 59)), '2024-01-09');
  assert.ok(parseISODate(todayISO()));
});
