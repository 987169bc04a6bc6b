// A recycled worker's new process answers on its Unix socket: every process of a worker listens on the same
// path, and libuv unlinks a listening socket's path when it closes, so the old process must be gone (its
// socket closed) before the new one binds the path. Many requests at once make the supervisor open new
// connections to the new process.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { startSupervisor } from '../helpers/supervisor.ts';
import { isAlive, waitFor } from '../helpers/processes.ts';

/** The socket a worker process said it listens on (its "listening on" line). */
function socketOf(sup: Awaited<ReturnType<typeof startSupervisor>>, pid: number): Promise<string> {
  return waitFor(`worker ${pid}'s socket`, () => sup.proc.lines.find((l) => l.pid === pid && typeof l.socket === 'string')?.socket as string | undefined, 10_000);
}

function connects(file: string): Promise<string> {
  return new Promise((resolve) => {
    const c = net.connect(file, () => {
      c.destroy();
      resolve('ok');
    });
    c.on('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? error.message));
  });
}

test('after a recycle, the new process answers on its Unix socket, new connections included', async (t) => {
  const sup = await startSupervisor({ profiles: ['a'] });
  t.after(() => sup.cleanup());
  const [old] = [...(await sup.waitForReady(['a'])).values()];
  const oldSocket = await socketOf(sup, old!.pid!);

  const restart = await sup.post('/supervisor/api/workers/a/restart', {});
  assert.equal(restart.status, 200, restart.text);
  const fresh = (await sup.waitForReady(['a'])).get('a')!;
  assert.notEqual(fresh.pid, old!.pid);
  await waitFor('the old process to be gone', () => !isAlive(old!.pid!), 15_000);

  const socket = await socketOf(sup, fresh.pid!);
  assert.equal(socket, oldSocket, 'the same path for every process of a worker');
  assert.equal(await connects(socket), 'ok', 'the new process listens on it');
  // Many at once: the supervisor opens new connections to the new process, which all reach it.
  const replies = await Promise.all(Array.from({ length: 40 }, () => sup.get('/p/a/healthz')));
  assert.deepEqual([...new Set(replies.map((r) => r.status))], [200]);
});
