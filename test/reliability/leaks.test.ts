// Leaks and slow clients: 5000 client requests aborted in the middle of their response and 1000
// requests to a stopped worker leave the supervisor's socket and fd counts where they were; 200 clients
// trickling their headers one byte a second cannot exhaust the supervisor: each is cut by the headers timeout
// (10 s, checked every second) while normal requests keep succeeding.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { waitFor } from '../helpers/processes.ts';
import { startSupervisor, type RunningSupervisor } from '../helpers/supervisor.ts';
import { Evidence } from '../helpers/evidence.ts';
import { client, request } from '../helpers/http.ts';
import { fdCount, settled, socketCount } from '../helpers/process-measures.ts';

/** Sends a GET on a fresh connection and destroys it once `abortAfter` bytes of the answer have arrived
 *  (0: as soon as the request is written). Resolves with how many bytes came. */
function abortedGet(port: number, target: string, abortAfter: number): Promise<number> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    let received = 0;
    const timer = setTimeout(() => socket.destroy(), 10_000);
    socket.on('error', () => {});
    socket.on('close', () => {
      clearTimeout(timer);
      resolve(received);
    });
    socket.on('connect', () => {
      socket.write(`GET ${target} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`);
      if (abortAfter === 0) socket.destroy();
    });
    socket.on('data', (chunk: Buffer) => {
      received += chunk.length;
      if (received >= abortAfter) socket.destroy();
    });
  });
}

async function counts(sup: RunningSupervisor) {
  // both numbers must have stopped moving (sockets closing as their clients go)
  const sockets = await settled(() => socketCount(sup.proc.pid), { everyMs: 300, timeoutMs: 10_000 });
  const fds = await settled(() => fdCount(sup.proc.pid), { everyMs: 300, timeoutMs: 10_000 });
  return { sockets, fds };
}

/** The counts once they are back within 2 of `before`, or after 75 s. Idle keep-alive connections to the
 *  workers are pooled (how many follows how many requests happened to overlap) and close after 60 s unused:
 *  a leak is what is still there once they may have gone. */
async function backToBaseline(sup: RunningSupervisor, before: { sockets: number; fds: number }) {
  const started = performance.now();
  let now = await counts(sup);
  while ((now.sockets > before.sockets + 2 || now.fds > before.fds + 2) && performance.now() - started < 75_000) {
    await sleep(2000); // polling interval of this loop, which waits (at most 75 s) for the counts to come back
    now = await counts(sup);
  }
  return { ...now, seconds: Math.round((performance.now() - started) / 1000) };
}

test('5000 requests aborted mid-response and 1000 requests to a stopped worker: no growth in sockets or fds', { timeout: 240_000 }, async (t) => {
  const ev = new Evidence();
  const sup = await startSupervisor({ profiles: ['a', 'b', 'h'] });
  ev.watch('supervisor output', () => sup.proc.output());
  t.after(() => sup.cleanup());
  const api = client(sup.port, { record: ev });
  // an answer big enough to be cut in the middle: ~200 KB of session values
  for (const k of ['big1', 'big2']) assert.equal((await api.put(`/p/a/api/session/${k}`, { value: 'x'.repeat(100_000) })).status, 200);
  const full = (await request(sup.port, 'GET', '/p/a/api/session')).text.length;
  assert.ok(full > 190_000, `answer of ${full} bytes`);

  const CONCURRENCY = 40;
  const round = async (total: number, make: (i: number) => Promise<unknown>) => {
    let next = 0;
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        while (next < total) await make(next++);
      }),
    );
  };
  const kinds = (i: number) => {
    const k = i % 5;
    if (k === 0) return abortedGet(sup.port, '/p/a/api/session', 1); // first byte of the status line
    if (k === 1) return abortedGet(sup.port, '/p/a/api/session', 2000); // headers and a little body
    if (k === 2) return abortedGet(sup.port, '/p/a/api/session', 100_000); // half the body
    if (k === 3) return abortedGet(sup.port, '/api/session', 60_000); // through /api
    return abortedGet(sup.port, '/p/b/api/session', 0); // before any answer
  };
  // warm-up at the same concurrency (keep-alive pools to the workers reach their size), then the baseline
  await round(400, kinds);
  await round(CONCURRENCY * 2, () => request(sup.port, 'GET', '/p/a/api/session'));
  await waitFor('nothing in flight', async () => (await sup.workers()).every((w) => w.in_flight === 0 && w.held_requests === 0), 10_000);
  const before = await counts(sup);

  const started = performance.now();
  let cutInTheMiddle = 0;
  await round(5000, async (i) => {
    const received = await kinds(i);
    if (received > 0 && received < full) cutInTheMiddle += 1;
  });
  t.diagnostic(`5000 aborted requests in ${Math.round(performance.now() - started)} ms, ${cutInTheMiddle} cut after part of the answer`);
  assert.ok(cutInTheMiddle >= 2500, `only ${cutInTheMiddle} requests were cut in the middle of their answer`);

  // 1000 requests to a stopped worker: each a quick 503, none held
  assert.equal((await api.post('/supervisor/api/workers/h/stop')).status, 200);
  await sup.waitForState('h', 'stopped', 5000);
  const statuses = new Map<number, number>();
  await round(1000, async (i) => {
    const r = await request(sup.port, 'GET', i % 2 ? '/p/h/healthz' : '/p/h/api/session', { record: i % 50 === 0 ? ev : null });
    statuses.set(r.status, (statuses.get(r.status) ?? 0) + 1);
  });
  assert.deepEqual([...statuses], [[503, 1000]]);

  await waitFor('nothing held or in flight', async () => (await sup.workers()).every((w) => w.in_flight === 0 && w.held_requests === 0), 10_000);
  const after = await backToBaseline(sup, before);
  t.diagnostic(`before: ${before.sockets} sockets, ${before.fds} fds; after: ${after.sockets} sockets, ${after.fds} fds (${after.seconds} s later)`);
  assert.ok(after.sockets <= before.sockets + 2, `sockets: ${before.sockets} before, ${after.sockets} after`);
  assert.ok(after.fds <= before.fds + 2, `fds: ${before.fds} before, ${after.fds} after`);
  // everything still answers
  for (const target of ['/p/a/healthz', '/p/b/healthz', '/api/profile/current', '/healthz']) assert.equal((await api.get(target)).status, 200, target);
  assert.equal((await api.get('/p/a/api/session/big1')).body.value.length, 100_000, 'the session of a is intact');
  // h comes back when asked
  assert.equal((await api.post('/supervisor/api/workers/h/start')).status, 200);
  await sup.waitForState('h', 'ready', 15_000);
  const w = (await sup.workers()).filter((x) => x.handle !== 'h');
  assert.ok(w.every((x) => x.restarts === 0 && x.state === 'ready'));
  ev.assertClean();
});

test('200 clients trickling headers one byte a second: each is cut by the headers timeout; normal requests keep succeeding', { timeout: 150_000 }, async (t) => {
  const ev = new Evidence();
  // All from 127.0.0.1, the normal requests too: the bound on one address's connections (its own test,
  // slow-clients) is raised above them here, so that this is about the headers timeout alone.
  const sup = await startSupervisor({ profiles: ['a', 'b'], env: { MAX_CONNECTIONS_PER_CLIENT: '400' } });
  ev.watch('supervisor output', () => sup.proc.output());
  t.after(() => sup.cleanup());
  const api = client(sup.port, { record: ev });
  assert.equal((await api.get('/p/a/healthz')).status, 200);
  const before = await counts(sup);

  const SLOW = 200;
  const sockets: net.Socket[] = [];
  t.after(() => {
    for (const s of sockets) s.destroy();
  });
  const trickles = Promise.all(
    Array.from({ length: SLOW }, (_, i) => (async () => {
      await sleep(i * 5); // spread the connects over a second: pacing, not a wait
      return new Promise<{ openFor: number; answer: string; bytes: number }>((resolve) => {
        const socket = net.connect({ host: '127.0.0.1', port: sup.port });
        sockets.push(socket);
        let answer = '';
        let bytes = 0;
        let startedAt = 0;
        let ticker: NodeJS.Timeout | undefined;
        const done = () => {
          clearInterval(ticker);
          resolve({ openFor: performance.now() - startedAt, answer, bytes });
        };
        socket.on('error', () => {});
        socket.on('data', (c: Buffer) => (answer += c.toString('latin1')));
        socket.on('close', done);
        socket.on('connect', () => {
          startedAt = performance.now();
          const line = `GET /p/${i % 2 ? 'a' : 'b'}/healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: `;
          socket.write(line.slice(0, 1));
          let sent = 1;
          bytes = 1;
          ticker = setInterval(() => {
            // one byte a second, for at most 25 s (then the test gives up on this socket)
            if (performance.now() - startedAt > 25_000) return socket.destroy();
            socket.write(sent < line.length ? line[sent]! : 'a');
            sent += 1;
            bytes += 1;
          }, 1000);
        });
      });
    })()),
  );

  // meanwhile (the trickles run ~10 s): normal requests answer quickly, every time
  let trickling = true;
  void trickles.finally(() => (trickling = false));
  t.after(() => {
    trickling = false;
  });
  const normal: { target: string; status: number | string; ms: number }[] = [];
  const targets = ['/p/a/healthz', '/p/b/api/profile/current', '/api/profile/current', '/supervisor/api/workers', '/'];
  while (trickling && normal.length < 1000) {
    const target = targets[normal.length % targets.length]!;
    const t0 = performance.now();
    const status = await request(sup.port, 'GET', target, { timeoutMs: 5000, record: normal.length % 20 === 0 ? ev : null }).then((r) => r.status, (e: Error) => e.message);
    normal.push({ target, status, ms: performance.now() - t0 });
    await sleep(100); // one normal request every ~100 ms while the trickles run (at most 1000): pacing, not a wait
  }
  const results = await trickles;
  const slowest = Math.max(...normal.map((n) => n.ms));
  t.diagnostic(`${normal.length} normal requests during the trickle, slowest ${Math.round(slowest)} ms`);
  assert.deepEqual(normal.filter((n) => n.status !== 200), [], 'a normal request failed');
  assert.ok(normal.length >= 50, `only ${normal.length} normal requests`);
  assert.ok(slowest < 1000, `a normal request took ${Math.round(slowest)} ms`);
  t.diagnostic(`trickling sockets open for ${Math.round(Math.min(...results.map((r) => r.openFor)))}–${Math.round(Math.max(...results.map((r) => r.openFor)))} ms`);
  for (const r of results) {
    assert.ok(r.openFor >= 8_500 && r.openFor <= 13_500, `a trickling socket was open ${Math.round(r.openFor)} ms (${r.bytes} bytes sent)`);
    assert.match(r.answer, /^HTTP\/1\.1 408 /, `the supervisor answers 408 before closing: ${r.answer.slice(0, 100)}`);
  }
  const after = await backToBaseline(sup, before);
  t.diagnostic(`before: ${before.sockets} sockets, ${before.fds} fds; after: ${after.sockets} sockets, ${after.fds} fds (${after.seconds} s later)`);
  assert.ok(after.sockets <= before.sockets + 2, `sockets: ${before.sockets} before, ${after.sockets} after`);
  assert.ok(after.fds <= before.fds + 2, `fds: ${before.fds} before, ${after.fds} after`);
  ev.assertClean();
});
