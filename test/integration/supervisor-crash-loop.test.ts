// Crash loop: MAX_RESTARTS exits within RESTART_WINDOW_MS → state `errored`, its requests get
// 503 with the last exit and the last log lines, until someone restarts it or its files change. The crash is
// real: the worker's port (from ports.json) is the last one there is (65535) and another program holds it, so
// the worker exits `port_conflict` with nowhere to move to (a taken port with free ones above it is moved
// instead: supervisor-port-conflict.test.ts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import fs from 'node:fs/promises';
import { clientFile, makeConfigDir } from '../helpers/config-dir.ts';
import { lastPort, freePortRange } from '../helpers/ports.ts';
import { hammer, startSupervisor, type RunningSupervisor } from '../helpers/supervisor.ts';

/** Keeps GETting `path` (one loop, 10 ms pauses) until stopped; every answer must be 200. */
function keepAsking(sup: RunningSupervisor, path: string) {
  return hammer(async () => (await sup.get(path)).status, 1, 10);
}

async function assertAllOk(load: ReturnType<typeof keepAsking>, what: string) {
  const { results, errors } = await load.stop();
  assert.deepEqual(errors, [], `${what}: connection errors`);
  assert.ok(results.length > 5, `${what}: only ${results.length} requests`);
  assert.deepEqual(results.filter((s) => s !== 200), [], `${what}: not every answer was 200`);
}

test('crash loop (the last port, taken by another program) → errored → recovery', async (t) => {
  // supervisor on `first`, workers from `first + 1`; h's port (from ports.json) is the highest there is
  const first = await freePortRange(6);
  const blocked = await lastPort(t);
  const config = await makeConfigDir({ profiles: ['h', 'ok'] });
  await config.writeJson('ports.json', { h: blocked });

  let blocker: net.Server | null = null;
  const block = async () => {
    blocker = net.createServer((socket) => socket.destroy());
    await new Promise<void>((resolve, reject) => blocker!.listen(blocked, '127.0.0.1', resolve).once('error', reject));
  };
  const unblock = async () => {
    const server = blocker;
    blocker = null;
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  };
  await block();

  const sup = await startSupervisor({ config, port: first, basePort: first + 1, env: { MAX_RESTARTS: '3', RESTART_WINDOW_MS: '60000' }, waitReady: ['ok'] });
  const load = keepAsking(sup, '/p/ok/healthz');
  t.after(async () => {
    await load.stop();
    await sup.cleanup();
    await unblock();
    await config.remove();
  });

  const errored = await sup.waitForState('h', 'errored', 15_000);
  assert.equal(errored.problem?.code, 'port_conflict');
  assert.equal(errored.problem?.port, blocked);
  assert.equal(errored.restarts, 3);
  assert.equal(errored.pid, null);
  assert.ok(errored.last_exit);
  assert.equal(errored.last_exit.code, 75);
  assert.equal(errored.last_exit.reason, 'port_conflict');

  for (const path of ['/p/h/healthz', '/api/profile/current']) {
    const started = performance.now();
    const r = await sup.get(path);
    assert.ok(performance.now() - started < 1000, 'an errored worker is refused at once, not held');
    assert.equal(r.status, 503, r.text);
    assert.equal(r.body.error, 'worker_unavailable');
    assert.equal(r.body.state, 'errored');
    assert.equal(r.body.last_exit.code, 75);
    assert.equal(r.body.problem.code, 'port_conflict');
    assert.ok(Array.isArray(r.body.last_log_lines) && r.body.last_log_lines.length > 0);
    assert.ok(r.body.last_log_lines.some((l: string) => l.includes('already in use')), 'the last log lines show why');
    assert.ok(Number(r.headers['retry-after']) > 0);
  }

  // a person fixes the cause and restarts it
  await unblock();
  const restart = await sup.post('/supervisor/api/workers/h/restart');
  assert.equal(restart.status, 200, restart.text);
  const ready = await sup.waitForState('h', 'ready', 15_000);
  assert.equal(ready.port, blocked);
  assert.equal(ready.problem, null);
  assert.equal((await sup.get('/p/h/healthz')).status, 200);

  // again, and this time a change to its credentials file clears `errored`
  assert.equal((await sup.post('/supervisor/api/workers/h/stop')).status, 200);
  await sup.waitForState('h', 'stopped', 5000);
  await block();
  assert.equal((await sup.post('/supervisor/api/workers/h/start')).status, 200);
  await sup.waitForState('h', 'errored', 15_000, (w) => w.problem?.code === 'port_conflict');
  await unblock();
  await config.writeJson('google_creds/credentials_h.json', clientFile('h', { project_id: 'rotated' }));
  await sup.waitForState('h', 'ready', 15_000);

  // and a mere touch of the credentials file does it too
  assert.equal((await sup.post('/supervisor/api/workers/h/stop')).status, 200);
  await sup.waitForState('h', 'stopped', 5000);
  await block();
  assert.equal((await sup.post('/supervisor/api/workers/h/start')).status, 200);
  await sup.waitForState('h', 'errored', 15_000, (w) => w.problem?.code === 'port_conflict');
  await unblock();
  const now = new Date();
  await fs.utimes(config.file('google_creds/credentials_h.json'), now, now);
  await sup.waitForState('h', 'ready', 15_000);

  await assertAllOk(load, '/p/ok/healthz');
  assert.equal((await sup.worker('ok'))!.restarts, 0);
});

