// SignInLimits (supervisor/access/sign-in-limits.ts) as a pure unit, on a clock the test moves: five failed
// sign-ins from one address within the window pause that address (the right password included) until the
// oldest of them leaves the window; an attempt counts from its start, before any password is checked; only
// failures count; other addresses are never affected.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MAX_FAILED_SIGN_INS, SignInLimits, type Attempt } from '../../supervisor/access/sign-in-limits.ts';

const WINDOW = 60_000;

function makeLimits() {
  const clock = { now: 1_000_000 };
  return { clock, limits: new SignInLimits({ windowMs: WINDOW, now: () => clock.now }) };
}

function attempt(limits: SignInLimits, address: string): Attempt {
  const a = limits.begin(address);
  assert.ok(!('retryAfterSeconds' in a), `an attempt from ${address} was refused: ${JSON.stringify(a)}`);
  return a as Attempt;
}

test('five failures pause the address for what is left of the window; the sixth is refused whatever its password', () => {
  const { clock, limits } = makeLimits();
  assert.equal(MAX_FAILED_SIGN_INS, 5);
  for (let i = 0; i < 5; i++) {
    attempt(limits, '10.0.0.1').failed();
    clock.now += 1000;
  }
  // the first failure was at 1_000_000, it is now 1_005_000: 55 s left of its window
  assert.deepEqual(limits.begin('10.0.0.1'), { retryAfterSeconds: 55 });
  clock.now += 30_000;
  assert.deepEqual(limits.begin('10.0.0.1'), { retryAfterSeconds: 25 });
  // one second before the oldest failure leaves the window: still refused (at least a second)
  clock.now = 1_000_000 + WINDOW - 1;
  assert.deepEqual(limits.begin('10.0.0.1'), { retryAfterSeconds: 1 });
  // the oldest left: one place again, and only one (four failures are still within the window)
  clock.now = 1_000_000 + WINDOW;
  attempt(limits, '10.0.0.1').failed();
  assert.ok('retryAfterSeconds' in limits.begin('10.0.0.1'));
});

test('the window slides: failures older than the window no longer count', () => {
  const { clock, limits } = makeLimits();
  for (let i = 0; i < 4; i++) attempt(limits, 'a').failed();
  clock.now += WINDOW; // all four are now exactly one window old: gone
  for (let i = 0; i < 4; i++) attempt(limits, 'a').failed();
  attempt(limits, 'a').succeeded();
  attempt(limits, 'a').failed(); // the fifth within the window
  assert.ok('retryAfterSeconds' in limits.begin('a'));
});

test('an attempt counts from its start: parallel guesses get five checks, the rest wait', () => {
  const { limits } = makeLimits();
  const pending = Array.from({ length: 5 }, () => attempt(limits, 'x'));
  // five under way, none decided yet: the sixth is told to come back in a second
  assert.deepEqual(limits.begin('x'), { retryAfterSeconds: 1 });
  // one ends well: its place is free again
  pending[0]!.succeeded();
  const sixth = attempt(limits, 'x');
  // the others all fail: five failures, and the one under way cannot take a sixth place
  for (const a of pending.slice(1)) a.failed();
  sixth.failed();
  const refused = limits.begin('x');
  assert.ok('retryAfterSeconds' in refused && refused.retryAfterSeconds === WINDOW / 1000, JSON.stringify(refused));
});

test('successes never count; an attempt ends once, however often it is ended', () => {
  const { limits } = makeLimits();
  for (let i = 0; i < 20; i++) attempt(limits, 'y').succeeded();
  const a = attempt(limits, 'y');
  a.failed();
  a.failed();
  a.succeeded();
  for (let i = 0; i < 3; i++) attempt(limits, 'y').failed();
  // four failures counted, not six: one more attempt is allowed
  attempt(limits, 'y').failed();
  assert.ok('retryAfterSeconds' in limits.begin('y'));
});

test('only the address counts: a paused address never pauses another', () => {
  const { limits } = makeLimits();
  for (let i = 0; i < 5; i++) attempt(limits, '10.0.0.1').failed();
  assert.ok('retryAfterSeconds' in limits.begin('10.0.0.1'));
  for (const other of ['10.0.0.2', '::1', '127.0.0.1', '10.0.0.1 ', 'unknown']) attempt(limits, other).succeeded();
  for (let i = 0; i < 4; i++) attempt(limits, '10.0.0.2').failed();
  attempt(limits, '10.0.0.2').succeeded();
});
