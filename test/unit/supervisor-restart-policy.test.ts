// When a crashed worker may start again: 0.5 s doubling to 30 s, reset after a minute up;
// MAX_RESTARTS exits within RESTART_WINDOW_MS give up. Time is injected.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RestartPolicy } from '../../supervisor/workers/restart-policy.ts';

function clock(start = 1_000_000) {
  let now = start;
  return { now: () => now, advance: (ms: number) => (now += ms) };
}

test('backoff doubles from 0.5 s and stops at 30 s', () => {
  const c = clock();
  const policy = new RestartPolicy({ maxRestarts: 1000, windowMs: 60_000, now: c.now });
  const delays: number[] = [];
  for (let i = 0; i < 10; i++) {
    const decision = policy.recordExit(100);
    assert.equal(decision.action, 'restart');
    if (decision.action === 'restart') delays.push(decision.delayMs);
    c.advance(decision.action === 'restart' ? decision.delayMs + 100 : 0);
  }
  assert.deepEqual(delays, [500, 1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000, 30000]);
});

test('MAX_RESTARTS exits within the window give up', () => {
  const c = clock();
  const policy = new RestartPolicy({ maxRestarts: 3, windowMs: 60_000, now: c.now });
  assert.deepEqual(policy.recordExit(10), { action: 'restart', delayMs: 500 });
  c.advance(1000);
  assert.deepEqual(policy.recordExit(10), { action: 'restart', delayMs: 1000 });
  c.advance(1000);
  assert.deepEqual(policy.recordExit(10), { action: 'give_up', exits: 3 });
});

test('exits older than the window are forgotten', () => {
  const c = clock();
  const policy = new RestartPolicy({ maxRestarts: 3, windowMs: 10_000, now: c.now });
  policy.recordExit(10);
  c.advance(4000);
  policy.recordExit(10);
  c.advance(6001); // the first exit is now out of the window
  assert.equal(policy.recordExit(10).action, 'restart');
  c.advance(100);
  assert.equal(policy.recordExit(10).action, 'give_up');
});

test('a minute up resets the backoff (not the crash count within the window)', () => {
  const c = clock();
  const policy = new RestartPolicy({ maxRestarts: 10, windowMs: 3_600_000, now: c.now });
  policy.recordExit(10);
  policy.recordExit(10);
  assert.deepEqual(policy.recordExit(10), { action: 'restart', delayMs: 2000 });
  c.advance(60_000);
  assert.deepEqual(policy.recordExit(60_000), { action: 'restart', delayMs: 500 });
  assert.deepEqual(policy.recordExit(59_999), { action: 'restart', delayMs: 1000 });
});

test('reset() forgets the history (a person restarted it, or its files changed)', () => {
  const c = clock();
  const policy = new RestartPolicy({ maxRestarts: 2, windowMs: 60_000, now: c.now });
  policy.recordExit(10);
  assert.equal(policy.recordExit(10).action, 'give_up');
  policy.reset();
  assert.deepEqual(policy.recordExit(10), { action: 'restart', delayMs: 500 });
});

test('options: base, cap and stable time can be set', () => {
  const c = clock();
  const policy = new RestartPolicy({ maxRestarts: 100, windowMs: 60_000, baseDelayMs: 100, maxDelayMs: 250, stableAfterMs: 1000, now: c.now });
  const delays = [1, 2, 3, 4].map(() => {
    const d = policy.recordExit(10);
    return d.action === 'restart' ? d.delayMs : -1;
  });
  assert.deepEqual(delays, [100, 200, 250, 250]);
  assert.deepEqual(policy.recordExit(1000), { action: 'restart', delayMs: 100 });
});
