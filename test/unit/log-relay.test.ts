// The worker log ring and its subscribers (what the logs stream follows), and the relay that fills it:
// every relayed line is redacted before any subscriber or the ring sees it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LogRing } from '../../supervisor/workers/log-ring.ts';
import { workerLogRelay } from '../../supervisor/workers/log-relay.ts';

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

test('the relay redacts a worker line before the ring and its subscribers see it', () => {
  const ring = new LogRing();
  const written: string[] = [];
  const streamed: string[] = [];
  ring.subscribe((line) => streamed.push(line));
  const relay = workerLogRelay({ handle: 'nick.tat', pid: 4242, ring, destination: { write: (s: string) => void written.push(s) } });
  // A worker that logged a secret by mistake (or printed JSON itself): the relay's own redaction catches it.
  relay(JSON.stringify({ level: 40, time: 't', pid: 1, msg: 'saving', password: 'Hunter2-secret', config: { mis_password: 'Mis-secret' } }), 'stdout');
  assert.equal(streamed.length, 1);
  const line = JSON.parse(streamed[0]!);
  assert.equal(line.password, '[redacted]');
  assert.equal(line.config.mis_password, '[redacted]');
  assert.equal(line.handle, 'nick.tat');
  assert.equal(line.pid, 4242);
  assert.equal(line.level, 40);
  assert.equal(line.msg, 'saving');
  for (const text of [...streamed, ...written, ...ring.tail()]) assert.ok(!/Hunter2|Mis-secret/.test(text), text);
});
