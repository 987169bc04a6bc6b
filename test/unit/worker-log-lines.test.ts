// The worker log ring and its subscribers (what the logs stream follows), and the worker's LogTap that
// fills it over the control channel: every line is redacted before it leaves the worker.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LogRing } from '../../supervisor/workers/log-ring.ts';
import { LogTap } from '../../worker/control/log-tap.ts';
import { createLogger } from '../../shared/runtime/logger.ts';

test('LogRing: subscribers get every line pushed after they subscribed, until they unsubscribe', () => {
  const ring = new LogRing(3);
  ring.push('before');
  const seen: string[] = [];
  const unsubscribe = ring.subscribe((line) => seen.push(line));
  ring.push('one');
  ring.push('two');
  unsubscribe();
  ring.push('three');
  assert.deepEqual(seen, ['one', 'two']);
  assert.deepEqual(ring.tail(), ['one', 'two', 'three'], 'the ring keeps its capacity');
  assert.deepEqual(ring.tail(1), ['three']);
});

test('LogRing: a listener that throws neither stops the push nor the other listeners', () => {
  const ring = new LogRing();
  const seen: string[] = [];
  ring.subscribe(() => {
    throw new Error('a broken listener');
  });
  ring.subscribe((line) => seen.push(line));
  ring.push('x');
  assert.deepEqual(seen, ['x']);
  assert.deepEqual(ring.tail(), ['x']);
});

test('a worker\'s LogTap keeps its recent lines, forwards each one, and writes the operator\'s log; all redacted', () => {
  const written: string[] = [];
  const forwarded: string[] = [];
  const tap = new LogTap({ write: (s: string) => void written.push(s) }, 3);
  tap.forwardTo((line) => forwarded.push(line));
  const log = createLogger({ level: 'info', destination: tap }).child({ handle: 'nick.tat' });
  // A worker that logs a secret by mistake: its own redaction catches it before any line leaves it.
  log.warn({ password: 'Hunter2-secret', config: { mis_password: 'Mis-secret' } }, 'saving');
  for (let i = 0; i < 4; i++) log.info({ i }, 'more');
  assert.equal(written.length, 5);
  assert.equal(forwarded.length, 5);
  const first = JSON.parse(forwarded[0]!);
  assert.equal(first.password, '[redacted]');
  assert.equal(first.config.mis_password, '[redacted]');
  assert.equal(first.handle, 'nick.tat');
  assert.equal(first.pid, process.pid);
  assert.equal(first.level, 40);
  assert.deepEqual(tap.recent.map((l) => JSON.parse(l).i), [1, 2, 3], 'the recent lines are bounded, oldest dropped');
  for (const text of [...written, ...forwarded, ...tap.recent]) assert.ok(!/Hunter2|Mis-secret/.test(text), text);
});
