// Spare workers (docs/architecture.md, "Spare workers"): with idle stop on, a worker process waits with its
// modules loaded, and the next profile that is asked for becomes that process; a spare leaves with its
// supervisor, whether it stops everything, leaves its workers to the next one, or is killed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cmdlineOf, spareWorkerOf } from '../helpers/process-table.ts';
import { isAlive, waitFor } from '../helpers/processes.ts';
import { startSupervisor } from '../helpers/supervisor.ts';

test('idle stop on: a spare waits, becomes the next profile asked for, and another takes its place', async (t) => {
  const sup = await startSupervisor({ profiles: ['a', 'b', 'c'], env: { IDLE_TIMEOUT_MS: '60000' }, waitReady: ['a'] });
  t.after(() => sup.cleanup());
  const spare = await waitFor('a spare worker', () => spareWorkerOf(sup.proc.pid), 15_000);

  const reply = await sup.get('/p/b/api/profile/current');
  assert.equal(reply.status, 200, reply.text);
  assert.equal(reply.body.handle, 'b');
  const b = (await sup.worker('b'))!;
  assert.equal(b.pid, spare, 'the spare became b\'s worker');
  assert.ok(!cmdlineOf(spare).includes('spare worker'), 'its command line is a worker\'s again');
  assert.equal((await sup.get('/p/b/healthz')).body.profile, 'b');

  const next = await waitFor('another spare', () => {
    const pid = spareWorkerOf(sup.proc.pid);
    return pid !== null && pid !== spare ? pid : null;
  }, 15_000);
  const c = await sup.post('/supervisor/api/workers/c/start');
  assert.equal(c.status, 200, c.text);
  assert.equal(c.body.worker.pid, next, 'the dashboard\'s Start takes the spare too');

  // A whole-system stop takes the spare with it.
  const third = await waitFor('a third spare', () => {
    const pid = spareWorkerOf(sup.proc.pid);
    return pid !== null && pid !== next ? pid : null;
  }, 15_000);
  sup.proc.child.kill('SIGUSR2');
  await sup.proc.exited();
  await waitFor('the spare to be gone with its supervisor', () => !isAlive(third), 5000);
});

test('a spare leaves with a supervisor that is killed (its IPC channel closes), and is never taken back', async (t) => {
  const sup = await startSupervisor({ profiles: ['a'], env: { IDLE_TIMEOUT_MS: '60000' }, waitReady: ['a'] });
  t.after(() => sup.cleanup());
  const spare = await waitFor('a spare worker', () => spareWorkerOf(sup.proc.pid), 15_000);
  const worker = (await sup.worker('a'))!.pid!;
  process.kill(sup.proc.pid, 'SIGKILL');
  await sup.proc.exited();
  await waitFor('the spare to exit by itself', () => !isAlive(spare), 5000);
  assert.ok(isAlive(worker), 'the profile\'s worker stays for the next supervisor');
});

test('idle stop off: a crash makes a spare while it waits out its backoff, and the healed worker is that spare', async (t) => {
  const sup = await startSupervisor({ profiles: ['a'], waitReady: ['a'] });
  t.after(() => sup.cleanup());
  const before = (await sup.worker('a'))!.pid!;
  assert.equal(spareWorkerOf(sup.proc.pid), null, 'idle stop off: no spare while nothing exits');
  const spares = new Set<number>();
  const watching = setInterval(() => {
    const pid = spareWorkerOf(sup.proc.pid);
    if (pid) spares.add(pid);
  }, 10);
  t.after(() => clearInterval(watching));
  process.kill(before, 'SIGKILL');
  const healed = await sup.waitForState('a', 'ready', 15_000, (w) => w.pid !== null && w.pid !== before);
  clearInterval(watching);
  assert.ok(spares.has(healed.pid!), `the healed worker (${healed.pid}) is a spare that waited (${[...spares].join(', ')})`);
  assert.equal((await sup.get('/p/a/healthz')).body.profile, 'a');
});
