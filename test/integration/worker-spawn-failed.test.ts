// A worker process that could not be spawned at all (too many processes or open files: Node gives no pid and
// no exit) ends at once as a start that failed, saying why, and no signal is ever sent for it: a pid of -1
// would be every process of the user (supervisor/workers/worker-process.ts, process-tree.ts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { SpawnedProcess, type ProcessEvent } from '../../supervisor/workers/worker-process.ts';
import { isProcessId } from '../../supervisor/workers/process-tree.ts';

test('a spawn that fails: the process ends at once with a fatal spawn_failed, and a stop signals nothing', async () => {
  const events: ProcessEvent[] = [];
  // What a failed spawn looks like to Node: ENOENT here stands for EAGAIN or EMFILE, which cannot be caused safely.
  const child = spawn('/nonexistent/tat-mis-node', [], { stdio: ['ignore', 'ignore', 'ignore', 'ipc'], detached: true });
  const proc = SpawnedProcess.around(child, { onEvent: (e) => events.push(e), onLine: () => {} }, { type: 'shutdown' });
  assert.equal(proc.pid, -1);
  const exit = await Promise.race([proc.exited, new Promise<'never'>((resolve) => setTimeout(() => resolve('never'), 5000).unref())]);
  assert.deepEqual(exit, { code: null, signal: null }, 'the failed spawn ends as an exit');
  assert.equal(proc.running, false);
  assert.deepEqual(events, [{ kind: 'fatal', code: 'spawn_failed', message: "the worker's process could not be started (ENOENT)" }]);
  // Only after it is known to have ended: a stop of it returns what ended it, signalling nothing.
  assert.deepEqual(await proc.stop(100), { code: null, signal: null });
});

test('pids that name more than one process, or init, are never signalled', () => {
  for (const pid of [-1, 0, 1, -42, 1.5, Number.NaN]) assert.equal(isProcessId(pid), false, String(pid));
  for (const pid of [2, 4242, process.pid]) assert.equal(isProcessId(pid), true, String(pid));
});
