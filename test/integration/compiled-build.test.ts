// What runs is the JavaScript compiled into dist/ and linked into one entry per process (README, "Running it
// for real"): never stale — a compiled worker refuses to start when a source changed after its build, and
// `npm start`'s launcher builds first — and its logged stack traces name the .ts files. Stale builds are made
// in a copy of the project, never in this one.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { PROJECT_ROOT } from '../../shared/profiles/paths.ts';
import { sourceMappedStackIn } from '../../shared/runtime/source-mapped-stack.ts';
import { makeConfigDir } from '../helpers/config-dir.ts';
import { killWorkers, startProcess, waitFor } from '../helpers/processes.ts';
import { freePortRange } from '../helpers/ports.ts';
import { startSupervisor } from '../helpers/supervisor.ts';

/** A copy of the project with its current build (timestamps kept) and the same node_modules. */
async function projectCopy(): Promise<{ root: string; remove(): Promise<void> }> {
  const root = await fs.mkdtemp(path.join(os.tmpdir(), 'tat-copy-'));
  for (const entry of ['package.json', 'tsconfig.json', 'tsconfig.build.json', 'scripts', 'shared', 'worker', 'supervisor', 'dist']) {
    await fs.cp(path.join(PROJECT_ROOT, entry), path.join(root, entry), { recursive: true, preserveTimestamps: true });
  }
  await fs.symlink(path.join(PROJECT_ROOT, 'node_modules'), path.join(root, 'node_modules'));
  return { root, remove: () => fs.rm(root, { recursive: true, force: true }) };
}

function run(root: string, args: string[], env: Record<string, string>, ipc = false) {
  const proc = startProcess(process.execPath, args, { cwd: root, env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env }, ipc });
  const messages: any[] = [];
  proc.child.on('message', (m) => messages.push(m));
  return { ...proc, messages, exit: proc.exited().then((e) => e.code) };
}

test('a compiled worker refuses a build its sources changed after; the npm start launcher rebuilds, then runs', async (t) => {
  const copy = await projectCopy();
  const config = await makeConfigDir({ profiles: ['nick.tat'] });
  t.after(async () => {
    await copy.remove();
    await config.remove();
  });
  const env = { TAT_CONFIG_DIR: config.dir, BLAZE_PROFILE: 'nick.tat', LOG_LEVEL: 'info' };

  // The copy's build is current: its worker starts.
  const fresh = run(copy.root, ['dist/linked/worker/main.js'], { ...env, PORT: String(await freePortRange(1)) });
  t.after(() => fresh.kill());
  await waitFor('the worker of a fresh build to listen', () => fresh.output().includes('listening on'), 15_000);
  fresh.child.kill('SIGTERM');
  await fresh.exit;

  // A source edited after the build: a supervised worker says why and exits 78.
  await fs.appendFile(path.join(copy.root, 'worker', 'app.ts'), '// edited after the build\n');
  const stale = run(copy.root, ['dist/linked/worker/main.js'], { ...env, PORT: String(await freePortRange(1)) }, true);
  assert.equal(await stale.exit, 78, stale.output());
  assert.match(stale.output(), /worker cannot start: the sources changed since the last build: run "npm run build"/);
  assert.deepEqual(stale.messages.map((m) => [m.type, m.code]), [['fatal', 'stale_build']]);

  // The launcher of `npm start` / `npm run worker` builds again first, then runs the new build.
  const launched = run(copy.root, ['scripts/start.mjs', 'worker'], { ...env, PORT: String(await freePortRange(1)) });
  t.after(() => launched.kill());
  await waitFor('the rebuilt worker to listen', () => launched.output().includes('listening on'), 60_000);
  assert.match(launched.output(), /the sources changed since the last build; building/);
  const state = JSON.parse(await fs.readFile(path.join(copy.root, 'dist', 'build-state.json'), 'utf8'));
  const check = spawnSync(process.execPath, ['--input-type=module', '-e', `import { buildState } from ${JSON.stringify(path.join(copy.root, 'scripts', 'build-state.mjs'))}; console.log(JSON.stringify(buildState(${JSON.stringify(copy.root)})))`], { encoding: 'utf8' });
  assert.ok(state.sources);
  assert.deepEqual(JSON.parse(check.stdout), { fresh: true, sources: state.sources });
  launched.child.kill('SIGTERM');
  await launched.exit;
});

test('logged stack traces of the compiled code name the .ts sources, without --enable-source-maps', () => {
  const dist = (file: string) => JSON.stringify(path.join(PROJECT_ROOT, 'dist', 'shared', 'runtime', file));
  const script = `const { loadSettings } = await import(${dist('settings.js')});
    const { createLogger } = await import(${dist('logger.js')});
    const log = createLogger();
    try { await loadSettings('/nonexistent', { PORT: 'not a port' }); } catch (error) { console.error(error.stack); log.error({ err: error }, 'failed'); }`;
  const run = (flags: string[]) => spawnSync(process.execPath, [...flags, '--input-type=module', '-e', script], { encoding: 'utf8' });
  const plain = run([]);
  assert.match(plain.stderr, /dist\/shared\/runtime\/settings\.js:\d+:\d+/, 'the error itself names the compiled file');
  const logged = JSON.parse(plain.stdout).err.stack as string;
  assert.match(logged, /invalid settings/);
  const at = /at loadSettings \((\S+:\d+:\d+)\)/;
  assert.ok(at.exec(logged)?.[1]?.startsWith(`${path.join(PROJECT_ROOT, 'shared', 'runtime', 'settings.ts')}:`), logged);
  // The same line and column as Node's own source maps give.
  const flagged = run(['--enable-source-maps']);
  assert.equal(at.exec(JSON.parse(flagged.stdout).err.stack)?.[1], at.exec(logged)?.[1]);
  assert.equal(at.exec(flagged.stderr)?.[1], at.exec(logged)?.[1]);
});

test('the supervisor and its workers run the compiled code, each entry linked with its modules', async (t) => {
  const sup = await startSupervisor({ profiles: ['a'] });
  t.after(() => sup.cleanup());
  const a = (await sup.worker('a'))!;
  const linked = (entry: string) => path.join(PROJECT_ROOT, 'dist', 'linked', entry, 'main.js');
  const cmdline = (await fs.readFile(`/proc/${a.pid}/cmdline`, 'utf8')).split('\0').filter(Boolean);
  assert.deepEqual(cmdline.slice(1), [linked('worker')], 'the linked entry (zod\'s English locale linked in: no preload), without --enable-source-maps');
  const own = (await fs.readFile(`/proc/${sup.proc.pid}/cmdline`, 'utf8')).split('\0');
  assert.ok(own.includes(linked('supervisor')), own.join(' '));
});

test('logged stack traces of the linked code name the .ts sources', () => {
  // A frame in the linked supervisor, where start-gate.ts's class is declared, maps back to that line.
  const file = path.join(PROJECT_ROOT, 'dist', 'linked', 'supervisor', 'main.js');
  const lines = readFileSync(file, 'utf8').split('\n');
  const row = lines.findIndex((line) => /^var StartGate = class \{|^class StartGate \{/.test(line));
  assert.ok(row >= 0, 'StartGate is linked into the supervisor');
  const stack = `Error: x\n    at new StartGate (${pathToFileURL(file).href}:${row + 1}:1)`;
  const source = path.join(PROJECT_ROOT, 'supervisor', 'workers', 'start-gate.ts');
  const declared = readFileSync(source, 'utf8').split('\n').findIndex((line) => line.startsWith('export class StartGate'));
  const mapped = sourceMappedStackIn(path.join(PROJECT_ROOT, 'dist'), stack);
  assert.equal(/\((.+):(\d+):\d+\)$/.exec(mapped)?.slice(1).join(':'), `${source}:${declared + 1}`, mapped);
});

test("the npm start launcher and the workers share Node's compile cache, in the user's private runtime folder", async (t) => {
  const config = await makeConfigDir({ profiles: ['a'] });
  const runtime = await fs.mkdtemp(path.join(os.tmpdir(), 'tat-run-'));
  const port = await freePortRange(3);
  const sup = run(PROJECT_ROOT, ['scripts/start.mjs', 'supervisor'], { TAT_CONFIG_DIR: config.dir, PORT: String(port), WORKER_BASE_PORT: String(port + 1), RUNTIME_DIRECTORY: runtime, LOG_LEVEL: 'info' });
  t.after(async () => {
    await sup.kill();
    await config.remove();
    await fs.rm(runtime, { recursive: true, force: true });
  });
  const cache = path.join(runtime, 'compile-cache');
  const listening = await waitFor('the supervisor to listen', () => sup.lines.find((l) => /supervisor listening/.test(String(l.msg))), 30_000);
  assert.equal(path.dirname(String(listening.compile_cache)), cache, 'the supervisor itself runs with the cache (a folder per Node version in it)');
  const worker = await waitFor('the worker to start', () => sup.lines.find((l) => l.handle === 'a' && typeof l.pid === 'number' && l.pid !== sup.pid), 30_000);
  t.after(() => killWorkers([worker.pid as number]));
  await waitFor('the worker to be ready', async () => (await fetch(`http://127.0.0.1:${port}/p/a/healthz`)).ok, 30_000);
  const environ = (await fs.readFile(`/proc/${worker.pid}/environ`, 'utf8')).split('\0');
  assert.ok(environ.includes(`NODE_COMPILE_CACHE=${cache}`), environ.filter((v) => v.startsWith('NODE_')).join(' '));
  assert.equal((await fs.stat(runtime)).mode & 0o777, 0o700);
  sup.child.kill('SIGUSR2'); // everything stops: each process writes what it compiled
  assert.equal(await sup.exit, 0, sup.output().slice(-2000));
  assert.ok((await fs.readdir(cache, { recursive: true })).length > 1, 'the cache was written');
});
