import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isCanonicalHandle, parseHandle } from '../../shared/profiles/handle.ts';

test('parseHandle accepts the guide\'s handles unchanged', () => {
  for (const h of ['nick.tat', 'store-la', 'admin', 'a', '0day', 'lisa.tat', 'other.user']) {
    assert.equal(parseHandle(h), h, h);
  }
});

test('parseHandle trims and lower-cases', () => {
  assert.equal(parseHandle('  Nick.Tat '), 'nick.tat');
  assert.equal(parseHandle('STORE-LA'), 'store-la');
});

test('parseHandle accepts 64 characters and rejects 65', () => {
  const h64 = 'a'.repeat(64);
  assert.equal(parseHandle(h64), h64);
  assert.equal(parseHandle(`b${'1'.repeat(63)}`), `b${'1'.repeat(63)}`);
  assert.equal(parseHandle('a'.repeat(65)), null);
});

const REJECTED: unknown[] = [
  '',
  '   ',
  'a b',
  '../x',
  'x/y',
  'x\\y',
  '..',
  '.',
  '.hidden',
  '-dash',
  'under_score',
  'a'.repeat(65),
  'nïck',
  '\u212Aelvin', // KELVIN SIGN lower-cases to an ASCII "k"
  '%2e%2e',
  'a..b',
  'nick.tat\u0000',
  'nick\ttat',
  'nick:tat',
  undefined,
  null,
  5,
  true,
  ['nick.tat'],
  { handle: 'nick.tat' },
];

for (const input of REJECTED) {
  test(`parseHandle rejects ${JSON.stringify(input) ?? String(input)}`, () => {
    assert.equal(parseHandle(input), null);
  });
}

test('isCanonicalHandle accepts only the canonical form', () => {
  assert.equal(isCanonicalHandle('nick.tat'), true);
  assert.equal(isCanonicalHandle('Nick.Tat'), false);
  assert.equal(isCanonicalHandle(' nick.tat'), false);
  assert.equal(isCanonicalHandle('a..b'), false);
});
