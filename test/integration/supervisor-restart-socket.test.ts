// A restart with the listening socket held the way systemd holds it (deploy/tat-mis.socket), under 100
// requests a second: Debian's `systemd-socket-activate` binds the port once and hands it, as fd 3 with
// LISTEN_FDS and LISTEN_PID, to a loop that starts the supervisor again whenever it exits (Restart= in
// the unit). SIGTERM to the supervisor then: no request fails (they wait in the socket's queue), no worker
// restarts, the profile's Chrome stays open and signed in (the fake MIS sees one login only), and a pull-csv
// started before the restart finishes with its file; the profile page's live stream, ended by the old
// supervisor at once, is followed again through the new one. Then stopped for good (systemctl stop): the
// workers and their Chrome stop by themselves within ORPHAN_TIMEOUT_MS.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { SLACK_MS, requireIntegration } from '../helpers/integration.ts';
import { openStream } from '../helpers/sse.ts';
import { toolAvailability } from '../helpers/ops.ts';
import { entryArgs, isRunning, killRecordedWorkers, startProcess, waitFor, type LogLine } from '../helpers/processes.ts';
import { freePort, freePortRange } from '../helpers/ports.ts';
import { describeSamples, pacedRequests, pick } from '../helpers/load.ts';
import { processTree, stillRunningChrome } from '../helpers/chromium.ts';
import { api, giveWork, restoreFixtures, snapshot } from '../helpers/restore.ts';
import type { WorkerInfo } from '../helpers/supervisor.ts';

const activate = toolAvailability('systemd-socket-activate', ['--version']);
const H = 'lisa.tat';
const HANDLES = [H, 'nick.tat', 'store-la'];
const ORPHAN_TIMEOUT_MS = 5000;

test('a restart under 100 requests a second with the socket held by systemd: nothing fails, nothing restarts', { timeout: 240_000 }, async (t) => {
  if (!requireIntegration(t, 'systemd-socket-activate', activate.available, activate.reason)) return;
  const fixtures = await restoreFixtures(HANDLES);
  if (!requireIntegration(t, 'Chromium', fixtures.chrome.available, fixtures.chrome.reason)) return void (await fixtures.close());
  const port = await freePort();
  const basePort = await freePortRange(HANDLES.length + 1);
  const stopFile = fixtures.config.file('stop-the-loop');
  const env: Record<string, string> = { ...fixtures.env, ORPHAN_TIMEOUT_MS: String(ORPHAN_TIMEOUT_MS), TAT_CONFIG_DIR: fixtures.config.dir, PORT: String(port), WORKER_BASE_PORT: String(basePort), LOG_LEVEL: 'debug', PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '' };
  // What Restart= does: the next supervisor as soon as one exits, each given fd 3 and its own LISTEN_PID.
  const loop = `while [ ! -e ${JSON.stringify(stopFile)} ]; do sh -c 'LISTEN_PID=$$; export LISTEN_PID; exec "$@"' sh ${[process.execPath, ...entryArgs('supervisor/main.ts')].map((a) => JSON.stringify(a)).join(' ')}; done`;
  const holder = startProcess('systemd-socket-activate', ['-l', `127.0.0.1:${port}`, ...Object.entries(env).flatMap(([k, v]) => ['-E', `${k}=${v}`]), '/bin/sh', '-c', loop], { env: process.env as Record<string, string> });
  const client = api(() => port);
  const supervisorPids = () => holder.lines.filter((l: LogLine) => l.name === 'supervisor' && l.msg?.startsWith('supervisor listening')).map((l) => l.pid as number);
  t.after(async () => {
    fs.writeFileSync(stopFile, '');
    for (const pid of supervisorPids()) if (isRunning(pid)) process.kill(pid, 'SIGUSR2');
    await waitFor('the supervisors to stop', () => supervisorPids().every((pid) => !isRunning(pid)), 15_000).catch(() => {});
    await holder.kill();
    await killRecordedWorkers(fixtures.config.dir);
    await fixtures.close();
  });

  await waitFor('systemd-socket-activate to hold the port', () => holder.output().includes(`Listening on 127.0.0.1:${port}`), 10_000);
  // systemd starts the service at the first connection: this request waits in the queue until it listens.
  const first = await client.get('/healthz');
  assert.equal(first.status, 200, first.text);
  const listening = await waitFor('the supervisor\'s "listening" line', () => holder.lines.find((l) => l.msg?.startsWith('supervisor listening')), 5000);
  assert.equal(listening.socket_activation, true, 'the supervisor took the socket systemd held');
  const workers = async () => (await client.get('/supervisor/api/workers')).body.workers as WorkerInfo[];
  await waitFor('every worker ready', async () => ((await workers()).filter((w) => w.state === 'ready').length === HANDLES.length ? true : null), 30_000);
  await giveWork(client, fixtures, H);
  const before = new Map((await workers()).map((w) => [w.handle!, w.pid!]));
  const chrome = processTree(before.get(H)!).filter((pid) => pid !== before.get(H) && stillRunningChrome([pid]).length === 1);
  assert.ok(chrome.length > 0, 'the profile\'s Chrome runs');
  const logins = fixtures.mis.logins.length;
  const work = await snapshot(client, H);
  assert.deepEqual(work.browser, { ready: true, mis_logged_in: true });

  // The profile page's live stream, open through the supervisor.
  const events = await openStream(port, `/p/${H}/api/events`);
  await events.next((e) => e.event === 'status');

  // A pull that takes a while, then the restart in the middle of the load.
  fixtures.mis.setExportDelay(3000);
  const pull = client.post(`/p/${H}/api/mis/pull-csv`);
  await waitFor('the pull to be under way', async () => ((await workers()).find((w) => w.handle === H)!.work.includes('pull-csv') ? true : null), 10_000);
  let running = true;
  const load = pacedRequests(port, {
    perSecond: 100,
    running: () => running,
    maxRequests: 3000,
    next: (n) => {
      const h = pick(HANDLES);
      return n % 2 === 0 ? { method: 'GET', path: `/p/${h}/healthz`, handle: h } : { method: 'GET', path: `/p/${h}/api/profile/current`, handle: h };
    },
  });
  await new Promise((resolve) => setTimeout(resolve, 1000));
  const old = supervisorPids()[0]!;
  const restartedAt = performance.now();
  process.kill(old, 'SIGTERM');
  await waitFor('the next supervisor to listen', () => supervisorPids().find((pid) => pid !== old) ?? null, 30_000);
  const streamEnded = await events.ended;
  const pulled = await pull;
  await new Promise((resolve) => setTimeout(resolve, 2000));
  running = false;
  const samples = await load;

  const failed = samples.filter((s) => s.status !== 200);
  assert.ok(samples.length >= 300, `only ${samples.length} requests were sent`);
  assert.deepEqual(failed.length, 0, `${failed.length} of ${samples.length} requests failed:\n${describeSamples(failed)}`);
  assert.equal(pulled.status, 200, `the pull started before the restart: ${pulled.text}`);
  assert.ok(!isRunning(old), 'the old supervisor is gone');
  const after = new Map((await workers()).map((w) => [w.handle!, w.pid!]));
  assert.deepEqual(after, before, 'the same worker processes');
  assert.deepEqual(stillRunningChrome(chrome), chrome, 'the same Chrome');
  assert.equal(fixtures.mis.logins.length, logins, 'the MIS was not signed into again');
  const now = await snapshot(client, H);
  assert.deepEqual(now.browser, { ready: true, mis_logged_in: true });
  assert.equal(now.csv.file, pulled.body.file, 'the pulled CSV is the one loaded');
  const slowest = Math.max(...samples.map((s) => s.end - s.start));
  t.diagnostic(`${samples.length} requests, 0 failed, the slowest took ${Math.round(slowest)} ms`);
  // The stream did not hold the old supervisor up (a page's stream never ends by itself): it was ended at once,
  // and a page reconnecting follows the same worker again.
  assert.ok(streamEnded - restartedAt < 1500, `the live stream ended ${Math.round(streamEnded - restartedAt)} ms after SIGTERM`);
  const again = await openStream(port, `/p/${H}/api/events`);
  const status = await again.next((e) => e.event === 'status');
  assert.ok(status.data.length > 0);
  again.close();

  // Stopped for good (as `systemctl stop`: SIGTERM, and no next supervisor): within ORPHAN_TIMEOUT_MS the
  // workers and their Chrome are gone, gracefully.
  fs.writeFileSync(stopFile, '');
  const last = supervisorPids().at(-1)!;
  process.kill(last, 'SIGTERM');
  const stoppedAt = performance.now();
  await waitFor('the workers and their Chrome to stop by themselves', () => [...before.values()].every((pid) => !isRunning(pid)) && stillRunningChrome(chrome).length === 0, ORPHAN_TIMEOUT_MS + 8000 + SLACK_MS);
  assert.ok(performance.now() - stoppedAt >= ORPHAN_TIMEOUT_MS - 200, 'not before ORPHAN_TIMEOUT_MS');
});
