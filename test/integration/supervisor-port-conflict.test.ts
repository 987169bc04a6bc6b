// A profile's saved port (ports.json) is held by another program: the worker is not crash-looped into
// `errored` but moved to the next free port above it — skipping ports other profiles hold and ports that
// are busy — saved in ports.json, and started there at once, with no restart counted. Real processes: the
// compiled supervisor and workers, and a real program (a `net` server) on the port.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { makeConfigDir } from '../helpers/config-dir.ts';
import { freePortRange } from '../helpers/ports.ts';
import { request } from '../helpers/http.ts';
import { startSupervisor, type RunningSupervisor, type WorkerInfo } from '../helpers/supervisor.ts';

type Status = WorkerInfo & { port_moved: { from: number; to: number; at: string } | null };

/** Another program on 127.0.0.1:port, which answers every connection with its own name. */
async function squat(port: number): Promise<net.Server> {
  const server = net.createServer((socket) => socket.end('squatter\n'));
  await new Promise<void>((resolve, reject) => server.listen(port, '127.0.0.1', resolve).once('error', reject));
  return server;
}

/** What answers a plain TCP connection to the port. */
function greeting(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = '';
    const socket = net.connect(port, '127.0.0.1');
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => (text += chunk));
    socket.on('end', () => resolve(text));
    socket.on('error', reject);
    socket.setTimeout(5000, () => socket.destroy(new Error(`no answer from port ${port}`)));
  });
}

test('a saved port held by another program: the worker moves to the next free port, saved, with no crash', async (t) => {
  // supervisor on `first`, ok on first + 1; h's saved port is first + 3 (taken by another program);
  // first + 4 belongs to a handle that is no profile now (nothing listens there, but it is held for it);
  // first + 5 is busy too. So h goes to first + 6.
  const first = await freePortRange(8);
  const taken = first + 3;
  const expected = first + 6;
  const saved = { h: taken, gone: first + 4, ok: first + 1 };
  const config = await makeConfigDir({ profiles: ['h', 'ok'] });
  await config.writeJson('ports.json', saved);
  const squatters: net.Server[] = [];
  let sup: RunningSupervisor | null = null;
  t.after(async () => {
    await sup?.cleanup();
    await Promise.all(squatters.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
    await config.remove();
  });
  squatters.push(await squat(taken), await squat(first + 5));

  const started = performance.now();
  sup = await startSupervisor({ config, port: first, basePort: first + 1, env: { MAX_RESTARTS: '3', RESTART_WINDOW_MS: '60000' }, waitReady: [] });
  const ready = await sup.waitForReady(['h', 'ok'], 10_000);
  const h = ready.get('h') as Status;
  assert.ok(performance.now() - started < 10_000, 'ready within a few seconds');

  // where it went, and what the status says
  assert.equal(h.port, expected, 'the lowest port above the taken one that no profile holds and nothing listens on');
  assert.equal(h.direct_url, `http://127.0.0.1:${expected}/`);
  assert.ok(h.port_moved, 'the status says the port moved');
  assert.equal(h.port_moved.from, taken);
  assert.equal(h.port_moved.to, expected);
  assert.ok(Date.parse(h.port_moved.at) >= Date.now() - 60_000);
  assert.equal(h.restarts, 0, 'a moved port is not a crash');
  assert.equal(h.last_exit, null);
  assert.equal(h.problem, null);
  assert.equal((ready.get('ok') as Status).port_moved, null);
  assert.equal(ready.get('ok')!.port, first + 1);

  // saved for the next start
  assert.deepEqual(await config.readJson('ports.json'), { ...saved, h: expected });

  // it serves, through the supervisor and on its direct URL; the other program still has its port
  const proxied = await sup.get('/p/h/healthz');
  assert.equal(proxied.status, 200, proxied.text);
  assert.equal(proxied.body.profile, 'h');
  const direct = await request(expected, 'GET', '/healthz');
  assert.equal(direct.status, 200, direct.text);
  assert.equal(direct.body.profile, 'h');
  assert.equal(await greeting(taken), 'squatter\n');
  assert.ok(squatters.every((s) => s.listening));

  // never a crash on the way: no backoff, no errored, one warn line naming handle, from and to
  const states = sup.proc.lines.filter((l) => l.msg === 'worker state' && l.handle === 'h').map((l) => l.to);
  assert.ok(!states.includes('backoff') && !states.includes('errored'), `h went through ${states.join(' → ')}`);
  assert.ok(!sup.proc.lines.some((l) => l.handle === 'h' && typeof l.msg === 'string' && /exited unexpectedly|keeps crashing/.test(l.msg)));
  const moved = sup.proc.lines.filter((l) => l.level === 40 && l.handle === 'h' && l.from === taken);
  assert.equal(moved.length, 1, 'one warn line for the move');
  assert.equal(moved[0]!.to, expected);
  assert.match(String(moved[0]!.msg), new RegExp(`${taken}.*${expected}`));

  // later passes and a restart keep the new port: nothing flaps back to the taken one
  const restart = await sup.post('/supervisor/api/workers/h/restart');
  assert.equal(restart.status, 200, restart.text);
  const again = (await sup.waitForState('h', 'ready', 15_000)) as Status;
  assert.equal(again.port, expected);
  assert.equal(again.restarts, 0);
  assert.deepEqual({ from: again.port_moved?.from, to: again.port_moved?.to }, { from: taken, to: expected });
  assert.equal(sup.proc.lines.filter((l) => l.level === 40 && l.handle === 'h' && l.from === taken).length, 1, 'no second move');
  assert.equal((await sup.get('/p/h/healthz')).status, 200);
  assert.deepEqual(await config.readJson('ports.json'), { ...saved, h: expected });
  assert.equal((await sup.worker('ok'))!.restarts, 0);
});
