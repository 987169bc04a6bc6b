// The logs view of one worker: the page at /logs?handle=<h>, a browser opening the JSON logs sent there, and
// the stream behind it (Server-Sent Events): the tail first, then each new line within a second, secrets
// redacted; a clear 404 for an unknown profile; a deleted profile's stream ends saying so; an open stream
// does not hold up the supervisor's stop.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { startSupervisor } from '../helpers/supervisor.ts';
import { openStream } from '../helpers/sse.ts';

const PRELOAD = fileURLToPath(new URL('../fixtures/worker-raw-secret-line.mjs', import.meta.url));
const SECRET = 'Hunter2-raw-Secret-x9Qv';


const BROWSER_ACCEPT = 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8';

test('the logs view: page, redirect, stream with tail and live lines (redacted), 404, and the stop', async (t) => {
  const sup = await startSupervisor({ profiles: ['a', 'b'], env: { NODE_OPTIONS: `--import=${PRELOAD}`, TAT_RAW_SECRET: SECRET } });
  t.after(() => sup.cleanup());

  await t.test('the page and its assets, under the pages\' CSP', async () => {
    const page = await sup.get('/logs?handle=a', { accept: BROWSER_ACCEPT });
    assert.equal(page.status, 200);
    assert.match(String(page.headers['content-type']), /^text\/html/);
    assert.match(String(page.headers['content-security-policy']), /default-src 'self'/);
    assert.match(page.text, /<header class="top">/);
    assert.match(page.text, /href="\/">All profiles</);
    for (const asset of ['/assets/logs.js', '/assets/logs.css', '/assets/base.css']) assert.ok(page.text.includes(asset), asset);
    assert.match(page.text, /<script type="module" src="\/assets\/logs\.js">/, 'the page runs as an ES module');
    // and the modules it imports are served
    for (const asset of ['/assets/logs.js', '/assets/logs.css', '/assets/base.css', '/assets/client.js', '/assets/event-stream.js', '/assets/format.js']) {
      assert.equal((await sup.get(asset)).status, 200, asset);
    }
    assert.doesNotMatch(page.text, /<script>|style=/, 'no inline script or style');
  });

  await t.test('a browser opening the JSON logs is sent to the page; API clients keep the JSON', async () => {
    const nav = await sup.get('/supervisor/api/workers/a/logs', { accept: BROWSER_ACCEPT });
    assert.equal(nav.status, 303);
    assert.equal(nav.headers.location, '/logs?handle=a');
    assert.match(String(nav.headers.vary), /accept/i);
    for (const headers of [{}, { accept: 'application/json' }, { accept: '*/*' }] as Record<string, string>[]) {
      const api = await sup.get('/supervisor/api/workers/a/logs?lines=1', headers);
      assert.equal(api.status, 200, JSON.stringify(headers));
      assert.equal(api.body.success, true);
      assert.equal(api.body.lines.length, 1);
    }
    // an unknown profile: the page says so (below); an invalid handle is the API's 400
    assert.equal((await sup.get('/supervisor/api/workers/nobody/logs', { accept: BROWSER_ACCEPT })).headers.location, '/logs?handle=nobody');
    assert.equal((await sup.get('/supervisor/api/workers/a_b/logs', { accept: 'application/json' })).status, 400);
  });

  await t.test('the stream: the tail first, then each new line within a second; a password shows [redacted]', async () => {
    const a = (await sup.worker('a'))!;
    // The raw line is printed once the worker answers on its port, which a loaded machine may delay past
    // this point: the tail is opened once it is there.
    await sup.proc.waitForLine((l) => l.handle === 'a' && l.msg === 'raw line at start');
    const stream = await openStream(sup.port, '/supervisor/api/workers/a/logs/stream');
    t.after(() => stream.close());
    assert.equal(stream.status, 200);
    assert.match(String(stream.headers['content-type']), /^text\/event-stream/);
    assert.equal(stream.headers['cache-control'], 'no-store');
    const live = await stream.next((e) => e.event === 'live');
    const tail = stream.events.filter((e) => e.event === 'line' && e.at <= live.at).map((e) => JSON.parse(e.data));
    assert.equal(JSON.parse(live.data).lines, tail.length);
    assert.ok(tail.some((l) => typeof l.msg === 'string' && l.msg.includes('listening on') && l.handle === 'a' && l.pid === a.pid), 'the worker\'s start is in the tail');
    assert.ok(tail.every((l) => l.handle === 'a'), 'only a\'s lines');
    const atStart = tail.find((l) => l.msg === 'raw line at start');
    assert.ok(atStart, 'the raw line printed at start is in the tail');
    assert.equal(atStart.password, '[redacted]');
    assert.equal(atStart.config.mis_password, '[redacted]');
    assert.equal(stream.retry, 2000);

    // a new line, pushed as it comes (no polling): within a second
    const asked = performance.now();
    process.kill(a.pid!, 'SIGUSR2');
    const fresh = await stream.next((e) => e.event === 'line' && JSON.parse(e.data).msg === 'raw line on signal', 3000);
    assert.ok(fresh.at - asked < 1000, `took ${Math.round(fresh.at - asked)} ms`);
    const line = JSON.parse(fresh.data);
    assert.equal(line.password, '[redacted]');
    assert.equal(line.level, 40);
    assert.equal(line.handle, 'a');
    // and a request's line too: b's lines do not reach a's stream
    process.kill((await sup.worker('b'))!.pid!, 'SIGUSR2');
    await sup.proc.waitForLine((l) => l.handle === 'b' && l.msg === 'raw line on signal');
    assert.ok(stream.events.every((e) => e.event !== 'line' || JSON.parse(e.data).handle === 'a'));

    const everything = stream.events.map((e) => e.data).join('\n');
    assert.ok(!everything.includes(SECRET), 'the secret reached the stream');
    assert.ok(!sup.proc.output().includes(SECRET), 'the secret reached the supervisor\'s output');
    assert.ok(!(await sup.get('/supervisor/api/workers/a/logs')).text.includes(SECRET), 'the secret reached the JSON logs');
  });

  await t.test('stdout is not a terminal here: the supervisor writes JSON lines, as before', () => {
    assert.ok(sup.proc.lines.length > 5);
    for (const line of sup.proc.lines) assert.equal(typeof line.level, 'number', `not a JSON log line: ${JSON.stringify(line)}`);
    assert.ok(sup.proc.lines.some((l) => l.name === 'supervisor' && typeof l.msg === 'string' && l.msg.startsWith('supervisor listening')));
  });

  await t.test('an unknown profile: 404 with a message that says why', async () => {
    const r = await sup.get('/supervisor/api/workers/nobody/logs/stream', { accept: 'text/event-stream' });
    assert.equal(r.status, 404);
    assert.equal(r.body.error, 'profile_not_found');
    assert.match(r.body.message, /no worker for "nobody"/);
    assert.equal((await sup.get('/supervisor/api/workers/a_b/logs/stream')).status, 400);
  });

  await t.test('a deleted profile\'s stream says so and ends', async () => {
    const stream = await openStream(sup.port, '/supervisor/api/workers/b/logs/stream');
    await stream.next((e) => e.event === 'live');
    assert.equal((await sup.request('DELETE', '/supervisor/api/profiles/b')).status, 200);
    const gone = await stream.next((e) => e.event === 'gone', 10_000);
    assert.match(JSON.parse(gone.data).message, /no longer managed here/);
    await stream.ended;
  });

  await t.test('an open stream does not hold up the graceful stop of everything: it ends at once, exit 0', async () => {
    const stream = await openStream(sup.port, '/supervisor/api/workers/a/logs/stream');
    await stream.next((e) => e.event === 'live');
    const asked = performance.now();
    sup.proc.child.kill('SIGUSR2');
    const endedAt = await stream.ended;
    const exit = await sup.proc.exited();
    const exitedAt = performance.now();
    assert.deepEqual(exit, { code: 0, signal: null }, sup.proc.output().slice(-2000));
    assert.ok(endedAt - asked < 2000, `the stream ended ${Math.round(endedAt - asked)} ms after SIGTERM`);
    // STOP_TIMEOUT_MS is 10 s: a stream holding the listener open would make the stop take that long
    assert.ok(exitedAt - asked < 5000, `the supervisor took ${Math.round(exitedAt - asked)} ms to stop`);
    assert.ok(stream.events.some((e) => e.event === 'line' && /stopping/.test(JSON.parse(e.data).msg)), 'the worker\'s stop was streamed');
  });
});
