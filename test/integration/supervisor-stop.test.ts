// Stopping the whole system: SIGUSR2 (what `npm run stop` sends) → every worker stopped gracefully in
// parallel, exit 0 within STOP_TIMEOUT_MS + 2 s, no worker process and no bound port left. A service
// manager's stop (SIGTERM, or SIGINT off a terminal) and SIGKILL leave the workers for a next supervisor: with
// none, each stops by itself after ORPHAN_TIMEOUT_MS (no orphans).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { settledWithin, waitFor, isRunning } from '../helpers/processes.ts';
import { freeze, startSupervisor } from '../helpers/supervisor.ts';
import { portIsFree } from '../helpers/ports.ts';
import { PROJECT_NODE, run } from '../helpers/ops.ts';
import { PROJECT_ROOT } from '../../shared/profiles/paths.ts';
import { SLACK_MS } from '../helpers/integration.ts';
import path from 'node:path';
import type { Reply } from '../helpers/http.ts';

const STOP_TIMEOUT_MS = 3000;
const profiles = ['a', 'b', 'c'];

/** An idle keep-alive connection to the supervisor: it must not hold the stop up. */
async function idleKeepAlive(port: number): Promise<http.Agent> {
  const agent = new http.Agent({ keepAlive: true });
  await new Promise<void>((resolve, reject) => {
    http
      .get({ host: '127.0.0.1', port, path: '/healthz', agent }, (res) => {
        res.resume();
        res.on('end', resolve);
      })
      .on('error', reject);
  });
  return agent;
}

/** A request that was stuck (in a hung worker, or held for one that never became ready) when the supervisor
 *  stopped: once the supervisor has exited it must have been answered (an error status: its worker never
 *  answered it) or cut (the connection reset), not left hanging. */
async function assertAnsweredOrCut(request: Promise<Reply>, what: string): Promise<void> {
  const outcome = await settledWithin(request, 2000);
  assert.notEqual(outcome.state, 'pending', `${what}: still hanging 2 s after the supervisor exited`);
  if (outcome.state === 'fulfilled') {
    assert.ok(outcome.value.status >= 500, `${what}: answered ${outcome.value.status} ${outcome.value.text}`);
  } else if (outcome.state === 'rejected') {
    const code = (outcome.error as NodeJS.ErrnoException).code;
    assert.ok(code === 'ECONNRESET' || code === 'EPIPE', `${what}: failed otherwise than by a cut connection: ${String(outcome.error)}`);
  }
}

const ORPHAN_TIMEOUT_MS = 1500;

for (const signal of ['SIGUSR2', 'npm run stop'] as const) {
  test(`${signal}: exit 0 in time, every worker gone, every port free`, async (t) => {
    const sup = await startSupervisor({ profiles, env: { STOP_TIMEOUT_MS: String(STOP_TIMEOUT_MS) } });
    t.after(() => sup.cleanup());
    const workers = await sup.workers();
    const pids = workers.map((w) => w.pid!);
    const ports = [sup.port, ...workers.map((w) => w.port)];
    const agent = await idleKeepAlive(sup.port);
    t.after(() => agent.destroy());

    const started = performance.now();
    if (signal === 'SIGUSR2') sup.proc.child.kill(signal);
    else {
      const stop = await run(PROJECT_NODE, [path.join(PROJECT_ROOT, 'scripts', 'start.mjs'), 'stop'], { env: { ...process.env, TAT_CONFIG_DIR: sup.config.dir }, timeoutMs: STOP_TIMEOUT_MS + 5000 });
      assert.equal(stop.code, 0, stop.stderr);
      assert.match(stop.stdout, /stopped: no supervisor and no worker runs/);
    }
    const exit = await sup.proc.exited();
    const elapsed = performance.now() - started;
    assert.deepEqual(exit, { code: 0, signal: null }, sup.proc.output().slice(-2000));
    assert.ok(elapsed < STOP_TIMEOUT_MS + 2000, `took ${Math.round(elapsed)} ms`);
    for (const pid of pids) assert.equal(isRunning(pid), false, `worker ${pid} is still running`);
    for (const port of ports) assert.equal(await portIsFree(port), true, `port ${port} is still bound`);
    assert.ok(sup.proc.lines.some((l) => l.msg === 'stopped' && l.name === 'supervisor'));
  });
}

for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  test(`${signal} off a terminal (a service manager's stop or restart): the supervisor exits at once, its workers stay until ORPHAN_TIMEOUT_MS, then stop by themselves`, async (t) => {
    const sup = await startSupervisor({ profiles, env: { STOP_TIMEOUT_MS: String(STOP_TIMEOUT_MS), ORPHAN_TIMEOUT_MS: String(ORPHAN_TIMEOUT_MS) } });
    t.after(() => sup.cleanup());
    const workers = await sup.workers();
    const agent = await idleKeepAlive(sup.port);
    t.after(() => agent.destroy());

    sup.proc.child.kill(signal);
    const exit = await sup.proc.exited();
    const left = performance.now();
    assert.deepEqual(exit, { code: 0, signal: null }, sup.proc.output().slice(-2000));
    assert.equal(await portIsFree(sup.port), true, 'the supervisor\'s port is free');
    for (const w of workers) assert.equal(isRunning(w.pid!), true, `worker ${w.handle} stays for a next supervisor`);
    await waitFor('every worker to stop by itself', () => workers.every((w) => !isRunning(w.pid!)), ORPHAN_TIMEOUT_MS + STOP_TIMEOUT_MS + SLACK_MS);
    const elapsed = performance.now() - left;
    assert.ok(elapsed >= ORPHAN_TIMEOUT_MS - 200, `the workers stopped after ${Math.round(elapsed)} ms, before ORPHAN_TIMEOUT_MS`);
    for (const w of workers) assert.equal(await portIsFree(w.port), true, `port ${w.port} is still bound`);
    const orphaned = sup.proc.lines.filter((l) => typeof l.reason === 'string' && l.reason.includes('ORPHAN_TIMEOUT_MS'));
    assert.equal(orphaned.length, workers.length, 'each worker says why it stopped');
  });
}

test('SIGUSR2 with a hung worker and a request stuck in it: still exit 0 in time, nothing left', async (t) => {
  const sup = await startSupervisor({ profiles, env: { STOP_TIMEOUT_MS: String(STOP_TIMEOUT_MS) } });
  const thaws: (() => void)[] = [];
  t.after(async () => {
    for (const thaw of thaws) thaw();
    await sup.cleanup();
  });
  const workers = await sup.workers();
  const hung = workers.find((w) => w.handle === 'b')!;
  thaws.push(freeze(hung.pid!));
  const stuck = sup.get('/p/b/healthz');
  stuck.catch(() => {}); // checked below, once the supervisor is gone
  await sup.waitForState('b', 'ready', 5000, (w) => w.in_flight === 1);

  const started = performance.now();
  sup.proc.child.kill('SIGUSR2');
  const exit = await sup.proc.exited();
  const elapsed = performance.now() - started;
  assert.deepEqual(exit, { code: 0, signal: null }, sup.proc.output().slice(-2000));
  assert.ok(elapsed < STOP_TIMEOUT_MS + 2000, `took ${Math.round(elapsed)} ms`);
  await assertAnsweredOrCut(stuck, 'the request stuck in the hung worker');
  for (const w of workers) assert.equal(isRunning(w.pid!), false, `worker ${w.handle} (${w.pid}) is still running`);
  for (const port of [sup.port, ...workers.map((w) => w.port)]) assert.equal(await portIsFree(port), true, `port ${port} is still bound`);
});

test('SIGUSR2 while a worker is recycling and its new process hangs: still exit 0 in time, nothing left', async (t) => {
  // START_TIMEOUT_MS stays at its default (20 s): the stop must not wait for the start to time out.
  const sup = await startSupervisor({ profiles, env: { STOP_TIMEOUT_MS: String(STOP_TIMEOUT_MS) } });
  const thaws: (() => void)[] = [];
  t.after(async () => {
    for (const thaw of thaws) thaw();
    await sup.cleanup();
  });
  const workers = await sup.workers();
  const old = workers.find((w) => w.handle === 'c')!;
  void sup.post('/supervisor/api/workers/c/restart').catch(() => {});
  const starting = await sup.waitForStarted('c', 5000, old.pid);
  assert.equal(starting.state, 'starting', 'the new process became ready before it could be frozen');
  thaws.push(freeze(starting.pid!));
  const held = sup.get('/p/c/healthz');
  held.catch(() => {}); // checked below, once the supervisor is gone
  await sup.waitForState('c', 'starting', 5000, (w) => w.held_requests === 1);

  const started = performance.now();
  sup.proc.child.kill('SIGUSR2');
  const exit = await sup.proc.exited();
  const elapsed = performance.now() - started;
  assert.deepEqual(exit, { code: 0, signal: null }, sup.proc.output().slice(-2000));
  assert.ok(elapsed < STOP_TIMEOUT_MS + 2000, `took ${Math.round(elapsed)} ms`);
  await assertAnsweredOrCut(held, 'the request held for the starting worker');
  for (const pid of [...workers.map((w) => w.pid!), starting.pid!]) assert.equal(isRunning(pid), false, `worker ${pid} is still running`);
  for (const port of [sup.port, ...workers.map((w) => w.port)]) assert.equal(await portIsFree(port), true, `port ${port} is still bound`);
});

test('SIGKILL of the supervisor and none started again: its workers stop by themselves after ORPHAN_TIMEOUT_MS', async (t) => {
  const sup = await startSupervisor({ profiles, env: { STOP_TIMEOUT_MS: String(STOP_TIMEOUT_MS), ORPHAN_TIMEOUT_MS: String(ORPHAN_TIMEOUT_MS) } });
  t.after(() => sup.cleanup());
  const workers = await sup.workers();
  assert.equal(workers.length, 3);

  process.kill(sup.proc.pid, 'SIGKILL'); // the supervisor only: workers run in sessions of their own
  await sup.proc.exited();
  const killed = performance.now();
  await waitFor('every worker to exit', () => workers.every((w) => !isRunning(w.pid!)), ORPHAN_TIMEOUT_MS + STOP_TIMEOUT_MS + SLACK_MS);
  assert.ok(performance.now() - killed >= ORPHAN_TIMEOUT_MS - 200, 'not before the bound: a next supervisor may take them back until then');
  for (const w of workers) assert.equal(await portIsFree(w.port), true, `port ${w.port} is still bound`);
});
