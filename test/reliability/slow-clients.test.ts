// Slow and greedy clients (README, "Configuration": BODY_TIMEOUT_MS, MAX_CONNECTIONS_PER_CLIENT): Debian's
// slowhttptest holds hundreds of connections from 127.0.0.1 open with headers (slowloris) or bodies
// (R-U-Dead-Yet) that trickle in, while another client — 127.0.0.2, another address as the supervisor sees
// it — must still be served promptly, and the supervisor's memory stays bounded. Without the tool: a body
// that stops arriving is cut with 408 `request_timeout` within BODY_TIMEOUT_MS (+2 s), and connections
// beyond MAX_CONNECTIONS_PER_CLIENT from one address get 503 `too_many_connections` (or are closed) while
// another address is still served. Traffic stays on 127.0.0.0/8.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { once } from 'node:events';
import fs from 'node:fs';
import net from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { requireIntegration } from '../helpers/integration.ts';
import { FailNow, isRunning, startProcess, waitFor, type Started } from '../helpers/processes.ts';
import { request } from '../helpers/http.ts';
import { rssOf, socketInodes } from '../helpers/process-measures.ts';
import { rawExchange } from '../helpers/raw-http.ts';
import { startSupervisor, type RunningSupervisor } from '../helpers/supervisor.ts';

const SLOWHTTPTEST = process.env.SLOWHTTPTEST_BINARY ?? '/usr/bin/slowhttptest';
const MAX_PER_CLIENT = 50;
const BODY_TIMEOUT_MS = 3000;
const MiB = 1024 * 1024;
/** What the supervisor may hold in memory while it is attacked. */
const RSS_BOUND = 250 * MiB;
/** How long a request from another address may take while the attack runs. */
const OTHER_CLIENT_BOUND_MS = 3000;
const ENV = { MAX_CONNECTIONS_PER_CLIENT: String(MAX_PER_CLIENT), BODY_TIMEOUT_MS: String(BODY_TIMEOUT_MS), LOG_LEVEL: 'info' };

/** `slowhttptest -h` prints its usage and exits 1: it is there when it runs and says who it is. */
function slowhttptestAvailability(): { available: boolean; reason: string } {
  const probe = spawnSync(SLOWHTTPTEST, ['-h'], { encoding: 'utf8', timeout: 10_000 });
  if (probe.error) return { available: false, reason: `"${SLOWHTTPTEST} -h" failed (${probe.error.message}); install Debian's slowhttptest package` };
  if (!/slowhttptest/i.test(`${probe.stdout}${probe.stderr}`)) return { available: false, reason: `"${SLOWHTTPTEST} -h" does not look like slowhttptest: ${probe.stdout.slice(0, 200)}` };
  return { available: true, reason: '' };
}
const toolCheck = slowhttptestAvailability();

/** The TCP connections `pid` has accepted on `port` and still holds (from /proc/net/tcp and its fds). */
function acceptedConnectionSet(pid: number, port: number): Set<string> {
  const inodes = socketInodes(pid);
  const held = new Set<string>();
  for (const line of fs.readFileSync('/proc/net/tcp', 'utf8').split('\n').slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f.length < 10 || f[3] === '0A') continue; // 0A: the listening socket itself
    if (parseInt(f[1]!.split(':')[1]!, 16) === port && inodes.has(f[9]!)) held.add(f[9]!);
  }
  return held;
}
const acceptedConnections = (pid: number, port: number) => acceptedConnectionSet(pid, port).size;

/** The supervisor is still running (not exited, not a zombie). */
const alive = (sup: RunningSupervisor) => sup.proc.child.exitCode === null && sup.proc.child.signalCode === null && isRunning(sup.proc.pid);


/** `GET /p/a/healthz` from 127.0.0.2, timed. */
async function fromOtherAddress(sup: RunningSupervisor, timeoutMs = OTHER_CLIENT_BOUND_MS): Promise<{ status: number | string; ms: number }> {
  const started = performance.now();
  try {
    const r = await request(sup.port, 'GET', '/p/a/healthz', { localAddress: '127.0.0.2', timeoutMs });
    return { status: r.status, ms: performance.now() - started };
  } catch (error) {
    return { status: (error as Error).message, ms: performance.now() - started };
  }
}

test('slowhttptest: slow headers and slow bodies from one address do not starve another, memory stays bounded', { timeout: 180_000 }, async (t) => {
  if (!requireIntegration(t, 'slowhttptest', toolCheck.available, toolCheck.reason)) return;
  const sup = await startSupervisor({ profiles: ['a'], env: ENV });
  const tools: Started[] = [];
  t.after(async () => {
    for (const tool of tools) await tool.kill();
    await sup.cleanup();
  });
  const base = `http://127.0.0.1:${sup.port}`;
  const modes = [
    // slowloris: a header line every 3 s on each of 300 connections; the supervisor cuts headers after 10 s
    { name: 'slow headers (-H)', args: ['-H', '-c', '300', '-r', '100', '-l', '15', '-i', '3', '-x', '24', '-p', '3', '-u', `${base}/p/a/healthz`] },
    // R-U-Dead-Yet: a declared 4 KiB JSON body, a few bytes every 5 s — longer than BODY_TIMEOUT_MS
    { name: 'slow bodies (-B)', args: ['-B', '-c', '300', '-r', '100', '-l', '15', '-i', '5', '-s', '4096', '-x', '10', '-f', 'application/json', '-p', '3', '-u', `${base}/api/profile/switch`] },
  ];
  for (const mode of modes) {
    const cutBefore = sup.proc.lines.filter((l) => l.msg === 'request body stopped arriving; cut').length;
    const tool = startProcess(SLOWHTTPTEST, mode.args);
    tools.push(tool);
    // The attack is under way once the supervisor holds most of the connections one address may hold.
    await waitFor(`${mode.name}: slowhttptest to hold connections`, () => {
      if (tool.child.exitCode !== null) throw new FailNow(`slowhttptest exited early:\n${tool.output()}`);
      return acceptedConnections(sup.proc.pid, sup.port) >= MAX_PER_CLIENT * 0.8;
    }, 15_000);

    const probes: { status: number | string; ms: number }[] = [];
    let peakRss = 0;
    let peakConnections = 0;
    const deadline = performance.now() + 40_000;
    while (tool.child.exitCode === null && tool.child.signalCode === null && performance.now() < deadline) {
      const before = acceptedConnectionSet(sup.proc.pid, sup.port);
      probes.push(await fromOtherAddress(sup));
      peakRss = Math.max(peakRss, rssOf(sup.proc.pid) ?? 0);
      await sleep(200);
      // Held: there at both ends of the interval. A connection turned away is closed within a turn of the
      // supervisor's loop, so a busy machine that delays that turn does not count it as held.
      const after = acceptedConnectionSet(sup.proc.pid, sup.port);
      peakConnections = Math.max(peakConnections, [...before].filter((inode) => after.has(inode)).length);
      assert.ok(alive(sup), `${mode.name}: the supervisor exited:\n${sup.proc.output().slice(-3000)}`);
    }
    const stillRunning = tool.child.exitCode === null && tool.child.signalCode === null;
    await tool.kill();
    assert.ok(!stillRunning, `${mode.name}: slowhttptest did not finish within 40 s of its 15 s test:\n${tool.output().slice(-2000)}`);
    const slowest = Math.max(...probes.map((p) => p.ms));
    t.diagnostic(`${mode.name}: ${probes.length} requests from 127.0.0.2, slowest ${Math.round(slowest)} ms; supervisor peak RSS ${(peakRss / MiB).toFixed(0)} MiB, peak connections held ${peakConnections}`);
    assert.ok(probes.length >= 10, `${mode.name}: only ${probes.length} requests from 127.0.0.2 while slowhttptest ran`);
    const failed = probes.filter((p) => p.status !== 200);
    assert.deepEqual(failed, [], `${mode.name}: requests from 127.0.0.2 were not served (200 within ${OTHER_CLIENT_BOUND_MS} ms)`);
    assert.ok(peakRss < RSS_BOUND, `${mode.name}: the supervisor's RSS reached ${(peakRss / MiB).toFixed(0)} MiB`);
    // One address holds at most MAX_CONNECTIONS_PER_CLIENT connections (plus the few being turned away, and
    // the probe from 127.0.0.2).
    assert.ok(peakConnections <= MAX_PER_CLIENT + 20, `${mode.name}: the supervisor held ${peakConnections} connections (at most ${MAX_PER_CLIENT} per address)`);
    if (mode.args[0] === '-B') {
      const cut = sup.proc.lines.filter((l) => l.msg === 'request body stopped arriving; cut').length - cutBefore;
      assert.ok(cut > 0, `${mode.name}: no slow body was cut after BODY_TIMEOUT_MS`);
    }
    // Once the tool is gone, 127.0.0.1 itself is served again.
    await waitFor(`${mode.name}: 127.0.0.1 to be served again`, async () => (await request(sup.port, 'GET', '/p/a/healthz', { timeoutMs: 2000 })).status === 200, 15_000);
  }
  assert.ok(alive(sup));
  assert.equal((await sup.worker('a'))!.state, 'ready');
});

test('a body that stops arriving is answered 408 request_timeout within BODY_TIMEOUT_MS, and changes nothing', { timeout: 60_000 }, async (t) => {
  const sup = await startSupervisor({ profiles: ['a', 'b'], env: ENV });
  t.after(() => sup.cleanup());
  const currentBefore = await sup.current();
  const bound = BODY_TIMEOUT_MS + 2000;
  const head = (method: string, path: string) => `${method} ${path} HTTP/1.1\r\nHost: 127.0.0.1:${sup.port}\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n`;
  const cases = [
    { what: 'a named worker route the supervisor reads (POST /api/profile/switch)', data: `${head('POST', '/api/profile/switch')}{"handle":` },
    { what: 'a proxied route (PUT /p/a/api/session/x)', data: `${head('PUT', '/p/a/api/session/x')}{"value":1` },
    { what: "a supervisor's own route (POST /supervisor/api/current)", data: `${head('POST', '/supervisor/api/current')}{"handle":` },
  ];
  // each written, then nothing more
  const answers = await Promise.all(cases.map((c) => rawExchange(sup.port, c.data, { timeoutMs: bound + 1000 })));
  for (const [i, a] of answers.entries()) {
    const what = cases[i]!.what;
    assert.equal(a.status, 408, `${what}: ${a.status ?? a.error} after ${Math.round(a.ms)} ms ${a.body.slice(0, 200)}`);
    assert.equal(JSON.parse(a.body).error, 'request_timeout', what);
    assert.ok(a.ms <= bound, `${what}: answered after ${Math.round(a.ms)} ms (bound ${bound} ms)`);
    assert.ok(a.ms >= BODY_TIMEOUT_MS * 0.8, `${what}: cut after ${Math.round(a.ms)} ms, before BODY_TIMEOUT_MS`);
  }
  // Nothing of the cut requests happened.
  assert.equal((await sup.get('/p/a/api/session/x')).status, 404, 'the session value was not stored');
  assert.equal(await sup.current(), currentBefore, 'the current profile did not move');
  assert.ok(alive(sup));
});

test('more than MAX_CONNECTIONS_PER_CLIENT connections from one address: the extra ones are turned away, another address is served', { timeout: 60_000 }, async (t) => {
  const sup = await startSupervisor({ profiles: ['a'], env: ENV });
  const held: net.Socket[] = [];
  t.after(async () => {
    for (const s of held) s.destroy();
    await sup.cleanup();
  });
  // MAX_PER_CLIENT connections from 127.0.0.1, each with an unfinished request (headers still coming).
  for (let i = 0; i < MAX_PER_CLIENT; i++) {
    const socket = net.connect({ host: '127.0.0.1', port: sup.port });
    socket.on('error', () => {});
    await once(socket, 'connect');
    socket.write(`GET /p/a/healthz HTTP/1.1\r\nHost: 127.0.0.1:${sup.port}\r\n`);
    held.push(socket);
  }
  await waitFor('the supervisor to hold every connection', () => acceptedConnections(sup.proc.pid, sup.port) >= MAX_PER_CLIENT, 5000).catch((e: Error) => {
    e.message += ` (it holds ${acceptedConnections(sup.proc.pid, sup.port)})`;
    throw e;
  });

  // The extra ones, each with a whole request: turned away, never served.
  const full = `GET /p/a/healthz HTTP/1.1\r\nHost: 127.0.0.1:${sup.port}\r\nConnection: close\r\n\r\n`;
  const extra = await Promise.all(Array.from({ length: 10 }, () => rawExchange(sup.port, full, { timeoutMs: 5000 })));
  for (const e of extra) {
    assert.ok(e.status === 503 || (e.status === null && !e.timedOut), `an extra connection got ${e.status ?? e.error}: ${e.body.slice(0, 200)}`);
    if (e.status === 503) assert.equal(JSON.parse(e.body).error, 'too_many_connections');
  }
  assert.ok(extra.some((e) => e.status === 503), 'at least one extra connection is told why (503 too_many_connections)');

  // Another address is served at once.
  const other = await fromOtherAddress(sup);
  assert.equal(other.status, 200, `127.0.0.2: ${other.status}`);
  assert.ok(other.ms < OTHER_CLIENT_BOUND_MS);

  // Once the held connections close, 127.0.0.1 is served again.
  for (const s of held) s.destroy();
  await waitFor('127.0.0.1 to be served again', async () => (await request(sup.port, 'GET', '/p/a/healthz', { timeoutMs: 2000 })).status === 200, 10_000);
  assert.ok(alive(sup));
});
