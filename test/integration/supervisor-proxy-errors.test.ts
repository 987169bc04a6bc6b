// Proxy failure modes: an upstream that does not answer → 504 `gateway_timeout`; clients that go
// away mid-request never leak sockets in the supervisor; a proxy error never crashes it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { waitFor } from '../helpers/processes.ts';
import { freeze, socketCount, startSupervisor, type RunningSupervisor } from '../helpers/supervisor.ts';

test('upstream hang → 504 gateway_timeout; the worker serves again once it resumes', async (t) => {
  const sup = await startSupervisor({ profiles: ['h', 'other'], env: { PROXY_TIMEOUT_MS: '1000' } });
  const thaws: (() => void)[] = [];
  t.after(async () => {
    for (const thaw of thaws) thaw();
    await sup.cleanup();
  });
  const h = (await sup.worker('h'))!;
  const thaw = freeze(h.pid!);
  thaws.push(thaw);

  for (const path of ['/p/h/healthz', '/api/profile/current']) {
    const started = performance.now();
    const r = await sup.get(path);
    const elapsed = performance.now() - started;
    assert.equal(r.status, 504, r.text);
    assert.equal(r.body.success, false);
    assert.equal(r.body.error, 'gateway_timeout');
    assert.equal(r.body.handle, 'h');
    assert.ok(elapsed >= 900 && elapsed < 3000, `answered after ${Math.round(elapsed)} ms`);
  }
  // a POST too (not replayable): 504, not a hang
  const post = await sup.post('/p/h/api/save-profile-credentials', { mis_username: 'x@example.com' });
  assert.equal(post.status, 504, post.text);
  // the other profile is not affected meanwhile
  assert.equal((await sup.get('/p/other/healthz')).status, 200);

  thaw();
  await waitFor('h to answer again', async () => (await sup.get('/p/h/healthz')).status === 200, 5000);
  const after = (await sup.worker('h'))!;
  assert.equal(after.pid, h.pid, 'a slow worker is not restarted by the proxy');
  assert.equal(after.in_flight, 0);
  assert.equal((await sup.get('/healthz')).status, 200);
});

/** Sends `data` on a fresh connection to the supervisor, then destroys the socket after `afterMs`. */
function abortAfter(port: number, data: string, afterMs: number): Promise<void> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    socket.on('error', () => {});
    socket.on('close', () => resolve());
    socket.on('connect', () => {
      socket.write(data);
      if (afterMs === 0) socket.destroy();
      else setTimeout(() => socket.destroy(), afterMs); // when the client goes away: the scenario, not a wait
    });
  });
}

const get = (path: string) => `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`;

/** The supervisor's open sockets, once the number has stopped moving. */
async function settledSockets(sup: RunningSupervisor): Promise<number> {
  let last = -1;
  return waitFor(
    'the socket count to settle',
    async () => {
      const now = socketCount(sup.proc.pid);
      const stable = now === last;
      last = now;
      await sleep(200); // the count must hold for 200 ms to count as settled: part of the condition, not a wait
      return stable ? now : null;
    },
    10_000,
  );
}

test('200 client requests aborted mid-request: the supervisor\'s socket count returns to baseline', async (t) => {
  const sup = await startSupervisor({ profiles: ['a', 'b', 'c'], env: { START_TIMEOUT_MS: '10000', STOP_TIMEOUT_MS: '8000' } });
  const thaws: (() => void)[] = [];
  t.after(async () => {
    for (const thaw of thaws) thaw();
    await sup.cleanup();
  });
  // warm up: one proxied request per worker, then measure
  for (const h of ['a', 'b', 'c']) assert.equal((await sup.get(`/p/${h}/healthz`)).status, 200);
  assert.equal((await sup.get('/api/profile/current')).status, 200);
  const baseline = await settledSockets(sup);

  const kinds: (() => Promise<void>)[] = [
    // the whole request, gone at once
    () => abortAfter(sup.port, get('/p/a/healthz'), 0),
    // the whole request, gone while it is proxied or answered
    () => abortAfter(sup.port, get('/api/profile/current'), 2),
    // headers cut in the middle
    () => abortAfter(sup.port, 'GET /p/a/healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Partial: ', 5),
    // a body announced but never sent: the upstream request is open when the client leaves
    () =>
      abortAfter(
        sup.port,
        'POST /p/a/api/save-profile-credentials HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n{"mis_username": "',
        20,
      ),
    // a request to a hung worker (b is frozen below): in flight upstream when the client leaves
    () => abortAfter(sup.port, get('/p/b/healthz'), 20),
    // a request held while its worker recycles (c, restarted below)
    () => abortAfter(sup.port, get('/p/c/healthz'), 20),
  ];

  const b = (await sup.worker('b'))!;
  thaws.push(freeze(b.pid!));
  // c: recycle it and keep its new process from becoming ready for a while, so requests to it are held
  const c = (await sup.worker('c'))!;
  const restart = sup.post('/supervisor/api/workers/c/restart');
  const startingC = await waitFor(
    'c to start again',
    async () => {
      const w = await sup.worker('c');
      return w?.state === 'starting' && w.pid && w.pid !== c.pid ? w : null;
    },
    5000,
  );
  const thawC = freeze(startingC.pid!);
  thaws.push(thawC);

  for (let batch = 0; batch < 10; batch++) {
    await Promise.all(Array.from({ length: 20 }, (_, i) => kinds[(batch * 20 + i) % kinds.length]!()));
  }
  // held and hung requests are gone with their clients: nothing is held or in flight any more
  await waitFor(
    'no request held or in flight',
    async () => (await sup.workers()).every((w) => w.held_requests === 0 && w.in_flight === 0),
    5000,
  );
  const afterAborts = await settledSockets(sup);
  assert.ok(afterAborts <= baseline + 5, `sockets: ${baseline} before, ${afterAborts} after the aborted requests (hung worker still frozen)`);

  // and once the workers run again, everything answers and the count stays put
  thawC();
  for (const thaw of thaws) thaw();
  assert.equal((await restart).status, 200);
  await sup.waitForReady(['a', 'b', 'c']);
  for (const h of ['a', 'b', 'c']) assert.equal((await sup.get(`/p/${h}/healthz`)).status, 200);
  const final = await settledSockets(sup);
  assert.ok(final <= baseline + 5, `sockets: ${baseline} before, ${final} at the end`);
  assert.equal((await sup.get('/healthz')).status, 200);
});
