// Idle stop and start on demand (IDLE_TIMEOUT_MS): at launch only the current profile's worker starts; the
// first requests to a sleeping worker are held while it starts and then answered, never failed; a worker
// unused for the timeout is stopped gracefully (state `idle`, no process) and the dashboard's Start wakes it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isAlive, waitFor } from '../helpers/processes.ts';
import { startSupervisor } from '../helpers/supervisor.ts';

const IDLE_TIMEOUT_MS = 2000;

test('IDLE_TIMEOUT_MS: only the current profile starts; requests wake the others; unused ones go back to sleep', async (t) => {
  const sup = await startSupervisor({ profiles: ['a', 'b', 'c'], env: { IDLE_TIMEOUT_MS: String(IDLE_TIMEOUT_MS) }, waitReady: ['a'] });
  t.after(() => sup.cleanup());

  const list = await sup.workers();
  assert.deepEqual(
    list.map((w) => [w.handle, w.state, w.pid]),
    [
      ['a', 'ready', list[0]!.pid],
      ['b', 'idle', null],
      ['c', 'idle', null],
    ],
  );
  assert.ok(list[0]!.pid);

  // Ten requests at once to a sleeping worker: held while it starts, every one answered.
  const answers = await Promise.all(Array.from({ length: 10 }, (_, i) => sup.get(i % 2 ? '/p/b/healthz' : '/p/b/api/profile/current')));
  assert.deepEqual(
    answers.map((r) => r.status),
    Array(10).fill(200),
    answers.map((r) => r.text).join('\n'),
  );
  assert.equal(answers[0]!.body.handle, 'b');
  const b = (await sup.worker('b'))!;
  assert.equal(b.state, 'ready');
  assert.equal(b.restarts, 0, 'waking is not a crash');

  // Unused for IDLE_TIMEOUT_MS: stopped gracefully, its process gone, c never started.
  const asleep = await sup.waitForState('b', 'idle', IDLE_TIMEOUT_MS + 12_000);
  assert.equal(asleep.pid, null);
  await waitFor('b\'s process to exit', () => !isAlive(b.pid!), 5000);
  assert.ok(sup.proc.lines.some((l) => l.handle === 'b' && l.msg === 'stopping idle worker'));
  assert.equal((await sup.worker('c'))!.pid, null);

  // The dashboard's Start wakes a sleeping worker; the guide's /api follows the current profile as ever.
  const start = await sup.post('/supervisor/api/workers/c/start');
  assert.equal(start.status, 200, start.text);
  assert.equal(start.body.worker.state, 'ready');
  assert.equal((await sup.get('/api/profile/current')).body.handle, 'a');
});
