// When a process gives memory back (shared/runtime/memory-trim.ts): long after its start when no request
// came, so that the collection never takes from the starts of a cold start; QUIET_MS after each burst; never
// while a request is in flight. Timers are mocked: no test waits.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import type { Server } from 'node:http';
import { trimMemoryWhenQuiet } from '../../shared/runtime/memory-trim.ts';

function setUp(t: TestContext) {
  t.mock.timers.enable({ apis: ['setTimeout'] });
  const server = new EventEmitter();
  let collections = 0;
  trimMemoryWhenQuiet([server as unknown as Server], { collect: () => (collections += 1), quietMs: 2000, afterStartMs: 10_000 });
  /** A request that starts now; `end()` closes its response. */
  const request = () => {
    const res = new EventEmitter();
    server.emit('request', {}, res);
    return { end: () => res.emit('close') };
  };
  return { request, collections: () => collections, tick: (ms: number) => t.mock.timers.tick(ms) };
}

test('no request after the start: one collection, only once the start is long past', (t) => {
  const { collections, tick } = setUp(t);
  tick(9_999);
  assert.equal(collections(), 0, 'not while a cold start may still be starting other workers');
  tick(1);
  assert.equal(collections(), 1);
  tick(60_000);
  assert.equal(collections(), 1, 'once, not over and over');
});

test('a burst of requests: one collection QUIET_MS after its last answer, whenever it came', (t) => {
  const { request, collections, tick } = setUp(t);
  tick(500);
  const a = request();
  const b = request();
  a.end();
  tick(1_999);
  b.end(); // the burst ends here
  tick(1_999);
  assert.equal(collections(), 0);
  tick(1);
  assert.equal(collections(), 1, 'QUIET_MS after the burst, before the start delay');
  tick(20_000);
  assert.equal(collections(), 1, 'the start delay does not add a second one');
  request().end();
  tick(2_000);
  assert.equal(collections(), 2, 'armed again by the next burst');
});

test('never while a request is in flight; the next quiet moment after it', (t) => {
  const { request, collections, tick } = setUp(t);
  const long = request(); // a long export, say
  tick(30_000);
  assert.equal(collections(), 0);
  long.end();
  tick(2_000);
  assert.equal(collections(), 1);
});
