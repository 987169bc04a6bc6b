// An upgrade of the code while the workers run (README, "Running it for real"): a copy of the project with
// its own dist/ runs a supervisor and its workers; a source changes and is built again; the next supervisor
// takes the workers back — the same processes, still running the build they started with — shows them as
// "older version", and, asked to, moves each to the new build, one at a time.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { PROJECT_ROOT } from '../../shared/profiles/paths.ts';
import { makeConfigDir } from '../helpers/config-dir.ts';
import { freePort, freePortRange } from '../helpers/ports.ts';
import { killRecordedWorkers, startProcess, waitFor, type Started } from '../helpers/processes.ts';
import { request } from '../helpers/http.ts';
import type { WorkerInfo } from '../helpers/supervisor.ts';

const HANDLES = ['a', 'b'];

/** The project's sources in a folder of their own (node_modules shared), built there. */
function copyProject(): string {
  const copy = fs.mkdtempSync(path.join(os.tmpdir(), 'tat-upgrade-'));
  for (const entry of ['package.json', 'tsconfig.json', 'tsconfig.build.json', 'scripts', 'shared', 'worker', 'supervisor']) {
    fs.cpSync(path.join(PROJECT_ROOT, entry), path.join(copy, entry), { recursive: true });
  }
  fs.symlinkSync(path.join(PROJECT_ROOT, 'node_modules'), path.join(copy, 'node_modules'));
  build(copy);
  return copy;
}

function build(root: string): void {
  execFileSync(process.execPath, [path.join(root, 'scripts', 'build.mjs')], { cwd: root, stdio: 'pipe', timeout: 120_000 });
}

test('a worker of the older build is taken back, shown as older, and moved to the new build on request', { timeout: 240_000 }, async (t) => {
  const copy = copyProject();
  const config = await makeConfigDir({ profiles: HANDLES });
  const port = await freePort();
  const basePort = await freePortRange(HANDLES.length + 1);
  const supervisors: Started[] = [];
  t.after(async () => {
    for (const s of supervisors) if (s.child.exitCode === null && s.child.signalCode === null) s.child.kill('SIGUSR2');
    await Promise.all(supervisors.map((s) => Promise.race([s.exited(), new Promise((r) => setTimeout(r, 8000))])));
    for (const s of supervisors) await s.kill();
    await killRecordedWorkers(config.dir);
    await config.remove();
    fs.rmSync(copy, { recursive: true, force: true });
  });
  const start = () => {
    const env = { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', TAT_CONFIG_DIR: config.dir, PORT: String(port), WORKER_BASE_PORT: String(basePort), STOP_TIMEOUT_MS: '3000', LOG_LEVEL: 'debug' };
    const s = startProcess(process.execPath, [path.join(copy, 'dist', 'supervisor', 'main.js')], { env, cwd: copy });
    supervisors.push(s);
    return s;
  };
  const workers = async () => (await request(port, 'GET', '/supervisor/api/workers', { timeoutMs: 5000 })).body.workers as WorkerInfo[];
  const allReady = (check: (w: WorkerInfo) => boolean = () => true) =>
    waitFor('both workers ready', async () => {
      const list = await workers();
      return list.length === HANDLES.length && list.every((w) => w.state === 'ready' && check(w)) ? list : null;
    }, 30_000);

  const first = start();
  const before = new Map((await allReady()).map((w) => [w.handle!, w.pid!]));

  // The upgrade: the supervisor is stopped for a restart (its workers stay), a source changes, the build runs.
  first.child.kill('SIGTERM');
  await first.exited();
  fs.appendFileSync(path.join(copy, 'shared', 'runtime', 'version.ts'), '\n// the upgrade\n');
  build(copy);
  start();
  const adopted = await allReady();
  for (const w of adopted) {
    assert.equal(w.pid, before.get(w.handle!), `${w.handle}: the same process`);
    assert.equal(w.version, 'older', `${w.handle}: it runs the build it started with`);
  }
  const moved = await request(port, 'POST', '/supervisor/api/workers/upgrade', { timeoutMs: 5000 });
  assert.equal(moved.status, 202, moved.text);
  assert.deepEqual([...moved.body.moving].sort(), HANDLES);
  const after = await allReady((w) => w.version === 'current' && w.pid !== before.get(w.handle!));
  for (const w of after) {
    const reply = await request(port, 'GET', `/p/${w.handle}/healthz`, { timeoutMs: 5000 });
    assert.equal(reply.status, 200, reply.text);
  }
});
