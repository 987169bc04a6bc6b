// The pages' shared modules, imported as the pages import them (ES modules, no build step): the one way of
// writing times and sizes, the one way of following a stream (and reconnecting), the register form's
// reading of a handle, and where the sign-in page may send a person next.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { bytes, clock, duration, elapsedText, seconds } from '../../shared/ui/format.js';
import { followEvents } from '../../shared/ui/event-stream.js';
import { handleOf } from '../../shared/ui/register-form.js';
import { safeNext } from '../../shared/ui/safe-next.js';
import { waitFor } from '../helpers/processes.ts';

test('times and sizes, written one way on every page', () => {
  assert.equal(seconds(4_400), '4 s');
  assert.equal(seconds(-50), '0 s');
  assert.equal(seconds(600_000), '10 min');
  assert.equal(elapsedText(1_000, 30_000, 13_000), ' · 12 s so far, at most 30 s');
  assert.equal(duration(null), '');
  assert.equal(duration(45_000), '45s');
  assert.equal(duration(725_000), '12m 5s');
  assert.equal(duration(3 * 86_400_000 + 4 * 3_600_000), '3d 4h');
  assert.equal(bytes(512 * 1024), '512 kB');
  assert.equal(bytes(76 * 1024 * 1024), '76 MB');
  const at = new Date(2026, 11, 2, 9, 5, 7, 89);
  assert.match(clock(at, at), /^09:05:07\.089$/);
  assert.match(clock(at, new Date(2026, 11, 3)), /\S+ \S+ 09:05:07\.089$|^\S+ 09:05:07\.089$/, 'another day: the date in front');
  assert.equal(clock(new Date(Number.NaN)), '');
});

test('the register form reads a handle as the server does', () => {
  assert.equal(handleOf('  Nick.TAT '), 'nick.tat');
});

test('next after signing in: a page of this site only', () => {
  const origin = 'http://127.0.0.1:5000';
  assert.equal(safeNext('/p/a/?x=1', origin), `${origin}/p/a/?x=1`);
  for (const bad of ['//evil.example/', '/\t/evil.example/', '/\\evil.example', 'https://evil.example/', 'javascript:alert(1)', '/.//evil.example']) {
    assert.equal(new URL(safeNext(bad, origin)).origin, origin, bad);
  }
});

/** An EventSource the test drives. */
class FakeSource extends EventTarget {
  static readonly CONNECTING = 0;
  static readonly OPEN = 1;
  static readonly CLOSED = 2;
  static made: FakeSource[] = [];
  readyState = FakeSource.CONNECTING;
  closed = false;
  url: string;
  constructor(url: string) {
    super();
    this.url = url;
    FakeSource.made.push(this);
  }
  open() {
    this.readyState = FakeSource.OPEN;
    this.dispatchEvent(new Event('open'));
  }
  send(name: string, data: string) {
    this.dispatchEvent(new MessageEvent(name, { data }));
  }
  fail(state: number) {
    this.readyState = state;
    this.dispatchEvent(new Event('error'));
  }
  close() {
    this.closed = true;
    this.readyState = FakeSource.CLOSED;
  }
}

test('following a stream: events to their handlers; a drop is the browser\'s to heal; a refusal asks why, then retries or ends', async () => {
  FakeSource.made = [];
  const seen: string[] = [];
  let why: string | null = null;
  const following = followEvents('/events', {
    events: { workers: (data) => seen.push(`workers ${data}`) },
    onUp: () => seen.push('up'),
    onDown: () => seen.push('down'),
    explain: async () => why,
    onEnded: (reason) => seen.push(`ended ${reason}`),
    retryMs: 10,
    EventSourceClass: FakeSource as unknown as typeof EventSource,
  });
  const first = FakeSource.made[0]!;
  first.open();
  first.send('workers', '{"n":1}');
  first.fail(FakeSource.CONNECTING); // dropped: the browser reconnects by itself, nothing new is made
  assert.deepEqual(seen, ['up', 'workers {"n":1}', 'down']);
  assert.equal(FakeSource.made.length, 1);
  first.fail(FakeSource.CLOSED); // refused, no reason: a new connection shortly
  await waitFor('a new connection', () => FakeSource.made.length === 2, 2000);
  why = 'not yours';
  FakeSource.made[1]!.fail(FakeSource.CLOSED); // refused for a reason: the end
  await waitFor('the end', () => seen.includes('ended not yours'), 2000);
  await new Promise((resolve) => setTimeout(resolve, 30)); // longer than retryMs: no connection after the end
  assert.equal(FakeSource.made.length, 2);
  following.close();
  assert.equal(FakeSource.made[1]!.closed, true);
});
