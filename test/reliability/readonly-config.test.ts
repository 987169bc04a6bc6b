// A config dir the service may read but not write: another owner, 0755 folders and 0644 files. As
// root nothing stops a write, so the supervisor (and with it its workers) runs as nobody (uid/gid 65534) via
// child_process's uid/gid options; HOME and the compile cache live in a temp dir nobody owns. Reads keep
// working; every write answers a clear error (507 storage_error) and changes nothing on disk.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import fsSync from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PROJECT_ROOT } from '../../shared/profiles/paths.ts';
import { makeConfigDir } from '../helpers/config-dir.ts';
import { waitFor } from '../helpers/processes.ts';
import { requireIntegration } from '../helpers/integration.ts';
import { freePortRange } from '../helpers/ports.ts';
import { Evidence } from '../helpers/evidence.ts';
import { blazeConfigWithSecrets } from '../helpers/secrets.ts';
import { client } from '../helpers/http.ts';
import { diffTrees, snapshotTree } from '../helpers/file-trees.ts';
import { startSupervisorAs } from '../helpers/as-user.ts';

const NOBODY = 65534;

/** Why nobody could not run the project here, or null when it can. */
function whyNobodyCannotRun(): string | null {
  if (process.getuid?.() !== 0) return 'the suite does not run as root, so it cannot start a process as another user';
  for (const file of [process.execPath, path.join(PROJECT_ROOT, 'dist', 'supervisor', 'main.js'), path.join(PROJECT_ROOT, 'dist', 'worker', 'main.js'), path.join(PROJECT_ROOT, 'scripts', 'build-state.mjs'), path.join(PROJECT_ROOT, 'node_modules', 'koa', 'package.json')]) {
    // every folder on the way must be searchable by others, the file readable (and the node binary executable)
    let dir = path.dirname(file);
    while (dir !== path.dirname(dir)) {
      if ((fsSync.statSync(dir).mode & 0o001) === 0) return `${dir} is not searchable by other users`;
      dir = path.dirname(dir);
    }
    const mode = fsSync.statSync(file).mode;
    if ((mode & 0o004) === 0) return `${file} is not readable by other users`;
    if (file === process.execPath && (mode & 0o001) === 0) return `${file} is not executable by other users`;
  }
  return null;
}

test('config dir not writable: reads keep working, every write is a clear error, nothing on disk changes', async (t) => {
  const why = whyNobodyCannotRun();
  if (!requireIntegration(t, 'running the supervisor as another user (nobody)', why === null, why ?? '')) return;
  const ev = new Evidence();
  const config = await makeConfigDir({ profiles: ['a', 'b'] });
  await config.addCredentials('c'); // could be registered, if the dir were writable
  await config.writeJson('blaze_configs/blaze_config_a.json', blazeConfigWithSecrets('a@mis.example'));
  await config.writeJson('sessions/session_a.json', { remembered: 'from before' });
  await config.writeJson('last_profile.json', { last_profile: 'a' });
  // owned by root, readable by everyone, writable by nobody else
  for (const entry of snapshotTree(config.dir).keys()) await fs.chmod(config.file(entry), entry.endsWith('/') ? 0o755 : 0o644);
  await fs.chmod(config.dir, 0o755);
  const home = await fs.mkdtemp(path.join(os.tmpdir(), 'tat-rel-nobody-'));
  await fs.chown(home, NOBODY, NOBODY);
  const before = snapshotTree(config.dir);

  const port = await freePortRange(4);
  const sup = startSupervisorAs(NOBODY, NOBODY, { TAT_CONFIG_DIR: config.dir, PORT: String(port), WORKER_BASE_PORT: String(port + 1) }, home);
  ev.watch('supervisor output (as nobody)', () => sup.output());
  t.after(async () => {
    await sup.cleanup();
    await config.remove();
    await fs.rm(home, { recursive: true, force: true });
  });
  await sup.waitForLine((l) => typeof l.msg === 'string' && l.msg.startsWith('supervisor listening'), 20_000);
  const api = client(port, { record: ev });
  await waitFor(
    'both workers to be ready',
    async () => {
      const list = (await api.get('/supervisor/api/workers')).body.workers as { handle: string; state: string; pid: number }[];
      return list.filter((w) => w.state === 'ready').length === 2 ? list : null;
    },
    20_000,
  );
  // really unprivileged: the supervisor and its workers run as nobody
  const uidOf = (pid: number) => Number(/^Uid:\s+(\d+)/m.exec(fsSync.readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]);
  assert.equal(uidOf(sup.pid), NOBODY);
  const workers = (await api.get('/supervisor/api/workers')).body.workers as { handle: string; pid: number }[];
  for (const w of workers) assert.equal(uidOf(w.pid), NOBODY, `worker ${w.handle}`);
  // the supervisor said at start that it cannot write, naming the dir
  assert.ok(
    sup.lines.some((l) => Number(l.level) >= 50 && /config dir|ports\.json/.test(JSON.stringify(l))),
    'the supervisor logs that the config dir is not writable',
  );

  // ——— reads ———
  for (const target of ['/healthz', '/', '/metrics', '/p/a/', '/p/a/healthz', '/p/b/healthz', '/supervisor/api/workers/a/logs']) {
    const r = await api.get(target);
    assert.equal(r.status, 200, `${target}: ${r.text.slice(0, 300)}`);
  }
  const profiles = await api.get('/api/profiles');
  assert.deepEqual(profiles.body.profiles.map((p: { handle: string }) => p.handle), ['a', 'b', 'c']);
  assert.equal((await api.get('/api/profile/current')).body.handle, 'a');
  const creds = await api.get('/p/a/api/get-credentials');
  assert.equal(creds.body.mis_username, 'a@mis.example');
  assert.equal(creds.body.mis_password_set, true);
  assert.equal((await api.get('/p/a/api/session/remembered')).body.value, 'from before');
  assert.equal((await api.get('/p/a/api/profile/check-credentials/c')).body.exists, true);
  assert.equal((await api.post('/p/a/api/auth/google')).status, 200, 'starting the Google flow writes nothing');

  // ——— writes: each a clear error, none a 500, none a hang ———
  const writes: [string, () => ReturnType<typeof api.get>][] = [
    ['save credentials', () => api.post('/p/a/api/save-profile-credentials', { mis_username: 'changed@mis.example' })],
    ['session write', () => api.put('/p/a/api/session/k', { value: 1 })],
    ['session delete', () => api.delete('/p/a/api/session/remembered')],
    ['session clear', () => api.delete('/p/a/api/session')],
    ['register', () => api.post('/api/profile/register', { handle: 'c' })],
    ['switch', () => api.post('/api/profile/switch', { handle: 'b' })],
    ['delete another profile', () => api.post('/p/a/api/profile/delete', { handle: 'b' })],
    ['upload CSV', () => api.send('POST', '/p/b/api/mis/upload-csv', { body: 'a,b\n1,2\n', headers: { 'content-type': 'text/csv' } })],
    ['dashboard: make current', () => api.post('/supervisor/api/current', { handle: 'b' })],
    ['dashboard: delete profile', () => api.delete('/supervisor/api/profiles/b')],
  ];
  for (const [what, call] of writes) {
    const r = await call();
    assert.equal(r.status, 507, `${what}: ${r.status} ${r.text}`);
    assert.equal(r.body.success, false);
    assert.equal(r.body.error, 'storage_error', what);
    assert.match(r.body.message, /cannot be written \((EACCES|EPERM)\)/, what);
  }
  // the reads still agree with the disk: nothing half-done is visible
  assert.equal((await api.get('/p/a/api/get-credentials')).body.mis_username, 'a@mis.example');
  assert.equal((await api.get('/p/a/api/session/remembered')).body.value, 'from before');
  assert.equal((await api.get('/api/profile/current')).body.handle, 'a');

  // lifecycle operations need no writes: a recycle works
  assert.equal((await api.post('/supervisor/api/workers/b/restart')).status, 200);
  assert.equal((await api.get('/p/b/healthz')).status, 200);
  for (const h of ['a', 'b']) assert.equal((await api.get(`/p/${h}/healthz`)).status, 200);

  assert.deepEqual(diffTrees(before, snapshotTree(config.dir)), [], 'the config dir changed');
  assert.equal(sup.child.exitCode, null, 'the supervisor is still running');
  ev.assertClean();
});
