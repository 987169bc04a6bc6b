// Stopping: SIGTERM or SIGINT → every worker stopped gracefully in parallel, exit 0 within
// STOP_TIMEOUT_MS + 2 s, no worker process and no bound port left. SIGKILL of the supervisor → its workers
// notice the closed IPC channel and exit by themselves (no orphans).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { settledWithin, waitFor, isRunning } from '../helpers/processes.ts';
import { freeze, startSupervisor } from '../helpers/supervisor.ts';
import { portIsFree } from '../helpers/ports.ts';
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

for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  test(`${signal}: exit 0 in time, every worker gone, every port free`, async (t) => {
    const sup = await startSupervisor({ profiles, env: { STOP_TIMEOUT_MS: String(STOP_TIMEOUT_MS) } });
    t.after(() => sup.cleanup());
    const workers = await sup.workers();
    const pids = workers.map((w) => w.pid!);
    const ports = [sup.port, ...workers.map((w) => w.port)];
    const agent = await idleKeepAlive(sup.port);
    t.after(() => agent.destroy());

    const started = performance.now();
    sup.proc.child.kill(signal);
    const exit = await sup.proc.exited();
    const elapsed = performance.now() - started;
    assert.deepEqual(exit, { code: 0, signal: null }, sup.proc.output().slice(-2000));
    assert.ok(elapsed < STOP_TIMEOUT_MS + 2000, `took ${Math.round(elapsed)} ms`);
    for (const pid of pids) assert.equal(isRunning(pid), false, `worker ${pid} is still running`);
    for (const port of ports) assert.equal(await portIsFree(port), true, `port ${port} is still bound`);
    assert.ok(sup.proc.lines.some((l) => l.msg === 'stopped' && l.name === 'supervisor'));
  });
}

test('SIGTERM with a hung worker and a request stuck in it: still exit 0 in time, nothing left', async (t) => {
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
  sup.proc.child.kill('SIGTERM');
  const exit = await sup.proc.exited();
  const elapsed = performance.now() - started;
  assert.deepEqual(exit, { code: 0, signal: null }, sup.proc.output().slice(-2000));
  assert.ok(elapsed < STOP_TIMEOUT_MS + 2000, `took ${Math.round(elapsed)} ms`);
  await assertAnsweredOrCut(stuck, 'the request stuck in the hung worker');
  for (const w of workers) assert.equal(isRunning(w.pid!), false, `worker ${w.handle} (${w.pid}) is still running`);
  for (const port of [sup.port, ...workers.map((w) => w.port)]) assert.equal(await portIsFree(port), true, `port ${port} is still bound`);
});

test('SIGTERM while a worker is recycling and its new process hangs: still exit 0 in time, nothing left', async (t) => {
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
  sup.proc.child.kill('SIGTERM');
  const exit = await sup.proc.exited();
  const elapsed = performance.now() - started;
  assert.deepEqual(exit, { code: 0, signal: null }, sup.proc.output().slice(-2000));
  assert.ok(elapsed < STOP_TIMEOUT_MS + 2000, `took ${Math.round(elapsed)} ms`);
  await assertAnsweredOrCut(held, 'the request held for the starting worker');
  for (const pid of [...workers.map((w) => w.pid!), starting.pid!]) assert.equal(isRunning(pid), false, `worker ${pid} is still running`);
  for (const port of [sup.port, ...workers.map((w) => w.port)]) assert.equal(await portIsFree(port), true, `port ${port} is still bound`);
});

test('SIGKILL of the supervisor: its workers exit by themselves within 2 s', async (t) => {
  const sup = await startSupervisor({ profiles });
  t.after(() => sup.cleanup());
  const workers = await sup.workers();
  assert.equal(workers.length, 3);

  process.kill(sup.proc.pid, 'SIGKILL'); // the supervisor only: workers run in process groups of their own
  await sup.proc.exited();
  const killed = performance.now();
  await waitFor('every worker to exit', () => workers.every((w) => !isRunning(w.pid!)), 2000);
  assert.ok(performance.now() - killed < 2000);
  for (const w of workers) assert.equal(await portIsFree(w.port), true, `port ${w.port} is still bound`);
});
