// pm2 (ecosystem.config.cjs): a real pm2 with a PM2_HOME of its own runs the supervisor alone and waits
// for its 'ready'. On reload and restart only the supervisor is replaced: the new one takes every worker
// back (same pids, same ports) and the workers keep writing pm2's log file themselves. On delete the workers,
// left without a supervisor, stop by themselves within ORPHAN_TIMEOUT_MS: none is left behind, the ports
// come back free.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { PROJECT_ROOT } from '../../shared/profiles/paths.ts';
import { makeConfigDir } from '../helpers/config-dir.ts';
import { SLACK_MS, requireIntegration } from '../helpers/integration.ts';
import { freePort, freePortRange, portIsFree } from '../helpers/ports.ts';
import { waitFor, isRunning } from '../helpers/processes.ts';
import { request } from '../helpers/http.ts';
import type { WorkerInfo } from '../helpers/supervisor.ts';
import { PM2_CLI, PROJECT_NODE, makePm2, run, type Pm2App } from '../helpers/ops.ts';
import { killProcessesWithEnv, parentOf, projectProcesses } from '../helpers/process-table.ts';

const ECOSYSTEM = path.join(PROJECT_ROOT, 'ecosystem.config.cjs');
const STOP_TIMEOUT_MS = 3000;
// Longer than pm2 takes to start the next supervisor on a busy machine, shorter than the default.
const ORPHAN_TIMEOUT_MS = 10_000;
const HANDLES = ['alpha', 'beta'];

const require = createRequire(import.meta.url);

/** The ecosystem file as pm2 sees it, evaluated afresh under `env` (it reads STOP_TIMEOUT_MS when loaded). */
function loadEcosystem(env: Record<string, string | undefined>): any {
  const saved = Object.fromEntries(Object.keys(env).map((k) => [k, process.env[k]]));
  try {
    for (const [k, v] of Object.entries(env)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
    delete require.cache[require.resolve(ECOSYSTEM)];
    return require(ECOSYSTEM);
  } finally {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
    delete require.cache[require.resolve(ECOSYSTEM)];
  }
}

test('ecosystem.config.cjs: fork mode, no tree kill, kill_timeout above the drain, wait_ready, backoff, Node 22', async (t) => {
  const config = await makeConfigDir();
  t.after(() => config.remove());

  const cases: { what: string; env: Record<string, string | undefined>; stopTimeoutMs: number; settings?: unknown }[] = [
    { what: 'STOP_TIMEOUT_MS from the environment', env: { STOP_TIMEOUT_MS: String(STOP_TIMEOUT_MS), TAT_CONFIG_DIR: config.dir }, stopTimeoutMs: STOP_TIMEOUT_MS },
    { what: 'the default', env: { STOP_TIMEOUT_MS: undefined, TAT_CONFIG_DIR: config.dir }, stopTimeoutMs: 10_000 },
    { what: 'STOP_TIMEOUT_MS from settings.json', env: { STOP_TIMEOUT_MS: undefined, TAT_CONFIG_DIR: config.dir }, stopTimeoutMs: 25_000, settings: { STOP_TIMEOUT_MS: 25_000 } },
  ];
  for (const c of cases) {
    if (c.settings) await config.writeJson('settings.json', c.settings);
    const { apps } = loadEcosystem(c.env);
    assert.ok(Array.isArray(apps) && apps.length === 1, 'one app: the supervisor alone');
    const app = apps[0];
    assert.equal(app.name, 'tat-mis');
    assert.equal(path.resolve(app.cwd ?? PROJECT_ROOT, app.script), path.join(PROJECT_ROOT, 'scripts', 'start.mjs'));
    assert.equal(app.args, 'supervisor', 'the launcher of npm start, for the supervisor');
    assert.ok(app.exec_mode === undefined || app.exec_mode === 'fork' || app.exec_mode === 'fork_mode', `exec_mode ${app.exec_mode}`);
    assert.ok(app.instances === undefined || app.instances === 1, `instances ${app.instances}`);
    assert.equal(app.treekill, false, 'pm2 must signal the supervisor only: its workers stay for the next one');
    assert.equal(app.wait_ready, true);
    assert.ok(Number.isInteger(app.listen_timeout) && app.listen_timeout > 0, 'listen_timeout bounds the wait for ready');
    assert.ok(Number.isInteger(app.exp_backoff_restart_delay) && app.exp_backoff_restart_delay > 0, 'exp_backoff_restart_delay is set');
    assert.ok(
      app.kill_timeout > c.stopTimeoutMs + 2000,
      `${c.what}: kill_timeout ${app.kill_timeout} must exceed STOP_TIMEOUT_MS + 2 s = ${c.stopTimeoutMs + 2000}`,
    );
    assert.equal(app.interpreter, PROJECT_NODE, "the project's own Node 22");
  }
  const version = await run(PROJECT_NODE, ['--version']);
  assert.equal(version.code, 0);
  assert.match(version.stdout.trim(), /^v22\./);
});

test('pm2 start, reload, restart and delete with real processes', { timeout: 120_000 }, async (t) => {
  if (!requireIntegration(t, 'pm2', fs.existsSync(PM2_CLI), `${PM2_CLI} is missing (npm ci installs the pm2 devDependency)`)) return;
  const config = await makeConfigDir({ profiles: HANDLES });
  const port = await freePort();
  const basePort = await freePortRange(4);
  const pm2 = await makePm2({ TAT_CONFIG_DIR: config.dir, PORT: String(port), WORKER_BASE_PORT: String(basePort), STOP_TIMEOUT_MS: String(STOP_TIMEOUT_MS), ORPHAN_TIMEOUT_MS: String(ORPHAN_TIMEOUT_MS) });
  t.after(async () => {
    await pm2.cleanup();
    // Safety net: anything still running with this (test-unique) config dir is ours.
    killProcessesWithEnv('TAT_CONFIG_DIR', config.dir);
    await config.remove();
  });

  const get = (p: string) => request(port, 'GET', p, { timeoutMs: 10_000 });
  const workers = async () => {
    const reply = await get('/supervisor/api/workers');
    assert.equal(reply.status, 200);
    return reply.body.workers as WorkerInfo[];
  };
  const app = async (): Promise<Pm2App> => {
    const list = await pm2.jlist();
    assert.equal(list.length, 1, `pm2 runs one app: ${list.map((a) => a.name).join(', ')}`);
    assert.equal(list[0]!.name, 'tat-mis');
    return list[0]!;
  };
  const readyWorkers = (not: Set<number> = new Set()) =>
    waitFor(
      'both workers ready' + (not.size ? ' with new pids' : ''),
      async () => {
        const list = await workers();
        const ready = HANDLES.map((h) => list.find((w) => w.handle === h && w.state === 'ready' && w.pid && !not.has(w.pid)));
        return ready.every(Boolean) ? new Map(ready.map((w) => [w!.handle!, w!])) : null;
      },
      20_000,
    );
  const logLines = () => {
    const file = path.join(pm2.home, 'logs', 'tat-mis-out.log');
    if (!fs.existsSync(file)) return [];
    return fs
      .readFileSync(file, 'utf8')
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as Record<string, unknown>);
  };

  // ——— start: pm2 waits for the supervisor's 'ready', sent once it listens ———
  const t0 = performance.now();
  await pm2.cli('start', 'ecosystem.config.cjs');
  const startMs = performance.now() - t0;
  // Without wait_ready (or without 'ready'), pm2 would return before the supervisor listens, or wait out
  // listen_timeout (30 s).
  const health = await get('/healthz');
  assert.equal(health.status, 200, 'the supervisor listens as soon as `pm2 start` returns');
  assert.ok(startMs < 25_000, `pm2 start took ${Math.round(startMs)} ms: the 'ready' message did not arrive and listen_timeout ran out`);

  let current = await app();
  const env = current.pm2_env;
  assert.equal(env.status, 'online');
  assert.equal(env.exec_mode, 'fork_mode');
  assert.equal(env.treekill, false);
  assert.equal(env.wait_ready, true);
  assert.ok(env.kill_timeout > STOP_TIMEOUT_MS + 2000, `kill_timeout ${env.kill_timeout} with STOP_TIMEOUT_MS=${STOP_TIMEOUT_MS}`);
  assert.equal(env.exec_interpreter, PROJECT_NODE);
  assert.equal(fs.realpathSync(`/proc/${current.pid}/exe`), fs.realpathSync(PROJECT_NODE), 'the supervisor runs on the project Node 22');
  const daemon = pm2.daemonPid();
  assert.ok(daemon && isRunning(daemon), 'the pm2 daemon runs');
  assert.equal(parentOf(current.pid), daemon, 'pm2 runs the supervisor itself');

  // The environment given to `pm2 start` reached the supervisor: its port, its config dir, its worker ports.
  let before = await readyWorkers();
  assert.deepEqual(
    HANDLES.map((h) => before.get(h)!.port),
    [basePort, basePort + 1],
  );
  for (const h of HANDLES) {
    assert.equal(parentOf(before.get(h)!.pid!), current.pid, `worker ${h} is the supervisor's child`);
    const reply = await get(`/p/${h}/healthz`);
    assert.equal(reply.status, 200);
    assert.equal(reply.body.profile, h);
  }
  assert.deepEqual(projectProcesses(config.dir), { supervisors: [current.pid], workers: HANDLES.map((h) => before.get(h)!.pid!).sort((a, b) => a - b) });

  // ——— reload and restart: only the supervisor is replaced; the new one takes every worker back ———
  for (const action of ['reload', 'restart'] as const) {
    const oldSupervisor = current.pid;
    const restarts = current.pm2_env.restart_time as number;
    await pm2.cli(action, 'tat-mis');

    current = await app();
    assert.equal(current.pm2_env.status, 'online', `${action}: online again`);
    assert.notEqual(current.pid, oldSupervisor, `${action}: a new supervisor process`);
    assert.equal(current.pm2_env.restart_time, restarts + 1, `${action}: counted as one restart`);
    assert.ok(!isRunning(oldSupervisor), `${action}: the old supervisor ${oldSupervisor} is gone`);
    const left = logLines().find((l) => l.pid === oldSupervisor && l.msg === 'stopped');
    assert.ok(left, `${action}: the old supervisor ${oldSupervisor} logged no graceful "stopped" (was it killed by kill_timeout?)`);
    const newSupervisor = current.pid;
    await waitFor(`${action}: the new supervisor's "took back" line`, () => logLines().some((l) => l.pid === newSupervisor && l.msg === 'took back the workers of the earlier supervisor'), 5000).catch((error: Error) => {
      throw new Error(`${error.message}; supervisor ${newSupervisor}; the log:\n${logLines().map((l) => `${l.pid} ${l.msg}`).join('\n')}`);
    });

    const after = await readyWorkers();
    for (const h of HANDLES) {
      const w = after.get(h)!;
      assert.equal(w.pid, before.get(h)!.pid, `${action}: ${h} is the same process`);
      assert.equal(w.port, before.get(h)!.port, `${action}: ${h} keeps its port`);
      const reply = await get(`/p/${h}/healthz`);
      assert.equal(reply.status, 200, `${action}: /p/${h}/healthz`);
      assert.equal(reply.body.profile, h);
    }
    assert.deepEqual(
      projectProcesses(config.dir),
      { supervisors: [current.pid], workers: HANDLES.map((h) => after.get(h)!.pid!).sort((a, b) => a - b) },
      `${action}: exactly one supervisor and its two workers run`,
    );
    before = after;
  }
  // The workers write pm2's log file themselves: what each one said when the last supervisor took it back,
  // long after the supervisor that started it (and whose output pm2 read) was gone, is in the file.
  for (const h of HANDLES) {
    const pid = before.get(h)!.pid!;
    await waitFor(`${h}: its lines after the reload and after the restart in pm2's log file`, () => logLines().filter((l) => l.pid === pid && l.handle === h && l.msg === 'a supervisor took this worker back').length === 2, 5000);
  }

  // ——— delete: nothing left, ports free ———
  const lastSupervisor = current.pid;
  const lastWorkers = HANDLES.map((h) => before.get(h)!.pid!);
  await pm2.cli('delete', 'tat-mis');
  assert.deepEqual(await pm2.jlist(), []);
  assert.ok(!isRunning(lastSupervisor), 'the supervisor is gone after pm2 delete');
  await waitFor('the workers to stop by themselves', () => lastWorkers.every((pid) => !isRunning(pid)), ORPHAN_TIMEOUT_MS + STOP_TIMEOUT_MS + SLACK_MS);
  assert.deepEqual(projectProcesses(config.dir), { supervisors: [], workers: [] });
  assert.ok(logLines().some((l) => l.pid === lastSupervisor && l.msg === 'stopped'), 'the supervisor stopped gracefully');
  for (const p of [port, basePort, basePort + 1]) assert.ok(await portIsFree(p), `port ${p} is still bound after pm2 delete`);

  // ——— pm2 kill: the daemon goes too ———
  await pm2.cli('kill');
  await waitFor('the pm2 daemon to exit', () => !isRunning(daemon), 5000);
});
