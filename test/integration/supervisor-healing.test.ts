// Healing: a killed worker comes back on its port; a start that hangs is killed and retried,
// and the requests held for it get 503 with Retry-After. Other workers are never affected.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FailNow, waitFor } from '../helpers/processes.ts';
import { freeze, hammer, isRunning, startSupervisor, type RunningSupervisor } from '../helpers/supervisor.ts';

/** Keeps GETting `path` (two loops, 10 ms pauses) until stopped; every answer must be 200. */
function keepAsking(sup: RunningSupervisor, path: string) {
  return hammer(async () => (await sup.get(path)).status, 2, 10);
}

async function assertAllOk(load: ReturnType<typeof keepAsking>, what: string) {
  const { results, errors } = await load.stop();
  assert.deepEqual(errors, [], `${what}: connection errors`);
  assert.ok(results.length > 5, `${what}: only ${results.length} requests`);
  assert.deepEqual(results.filter((s) => s !== 200), [], `${what}: not every answer was 200`);
}

test('kill -9 of a worker: back on the same port within 2 s, others answered throughout', async (t) => {
  const sup = await startSupervisor({ profiles: ['a', 'b'] });
  t.after(() => sup.cleanup());
  const a = (await sup.worker('a'))!;
  const load = keepAsking(sup, '/p/b/healthz');
  t.after(() => load.stop());

  process.kill(a.pid!, 'SIGKILL');
  const killed = performance.now();
  // restarted (after the 0.5 s backoff) within 2 s; ready once its own start-up is done
  await sup.waitForStarted('a', 2000, a.pid);
  assert.ok(performance.now() - killed < 2000);
  const back = await sup.waitForState('a', 'ready', 15_000, (w) => w.pid !== a.pid);
  assert.equal(back.port, a.port);
  assert.equal(back.restarts, 1);
  assert.equal(back.last_exit?.signal, 'SIGKILL');
  const r = await sup.get('/p/a/api/profile/current');
  assert.equal(r.status, 200);
  assert.equal(r.body.handle, 'a');
  await assertAllOk(load, '/p/b/healthz');
  assert.equal((await sup.worker('b'))!.restarts, 0);
});

test('a start that hangs: held requests get 503 worker_unavailable with Retry-After; the start is retried', async (t) => {
  // 5 s rather than 1.5 s: a worker's own start-up takes over 2 s on a loaded 2-core machine
  const START_TIMEOUT_MS = 5000;
  const sup = await startSupervisor({ profiles: ['h', 'ok'], env: { START_TIMEOUT_MS: String(START_TIMEOUT_MS) } });
  const thaws: (() => void)[] = [];
  t.after(async () => {
    for (const thaw of thaws) thaw();
    await sup.cleanup();
  });
  const old = (await sup.worker('h'))!;

  // Recycle it and freeze the new process before it can say `ready`. If it got there first, the scenario
  // cannot be set up: fail at once with that reason (FailNow ends the wait), not with a timeout.
  const restart = sup.post('/supervisor/api/workers/h/restart');
  const starting = await waitFor(
    'the new h process',
    async () => {
      const w = await sup.worker('h');
      if (w?.state === 'ready' && w.pid !== old.pid) throw new FailNow('the new worker became ready before it could be frozen');
      return w?.state === 'starting' && w.pid && w.pid !== old.pid ? w : null;
    },
    5000,
  );
  const hung = starting.pid!;
  thaws.push(freeze(hung));

  const sent = performance.now();
  const answers = await Promise.all(['/p/h/healthz', '/p/h/api/profile/current', '/api/profile/current'].map((p) => sup.get(p)));
  const elapsed = performance.now() - sent;
  for (const r of answers) {
    assert.equal(r.status, 503, r.text);
    assert.equal(r.body.error, 'worker_unavailable');
    assert.match(r.body.message, /not available/);
    assert.ok(Number(r.headers['retry-after']) > 0, 'Retry-After');
  }
  assert.ok(elapsed >= START_TIMEOUT_MS - 1000 && elapsed < START_TIMEOUT_MS + 1500, `answered after ${Math.round(elapsed)} ms`);
  // the restart request itself is answered (it waits for the start to settle, here: to fail)
  assert.equal((await restart).status, 200);

  // the supervisor killed the hung process and started another, which comes up
  await waitFor('the hung process to be killed', () => !isRunning(hung), 5000);
  const back = await sup.waitForState('h', 'ready', 15_000, (w) => w.pid !== hung);
  assert.equal(back.port, old.port);
  assert.equal(back.last_exit?.reason, 'start_timeout');
  assert.equal((await sup.get('/p/h/healthz')).status, 200);
  assert.equal((await sup.get('/p/ok/healthz')).status, 200);
  assert.equal((await sup.worker('ok'))!.restarts, 0);
});
