// Access: with SUPERVISOR_TOKEN every supervisor write endpoint refuses a missing or wrong token and
// changes nothing (without it only this machine may write: test/unit/access-rules.test.ts, as data — traffic
// stays on 127.0.0.0/8); no response allows every origin; every listening socket of
// the supervisor and its workers is bound to 127.0.0.1; a cross-site request (another site's Origin, or a
// form content type) to any state-changing route is refused and changes nothing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { makeConfigDir } from '../helpers/config-dir.ts';
import { startSupervisor, type RunningSupervisor } from '../helpers/supervisor.ts';
import { Evidence } from '../helpers/evidence.ts';
import { SECRETS, blazeConfigWithSecrets } from '../helpers/secrets.ts';
import { client, request } from '../helpers/http.ts';
import { diffTrees, snapshotTree } from '../helpers/file-trees.ts';
import { listeningSockets, listeningUnixSockets } from '../helpers/process-measures.ts';

const WRITE_ENDPOINTS: { method: string; path: string; body?: unknown }[] = [
  { method: 'POST', path: '/supervisor/api/workers/b/restart' },
  { method: 'POST', path: '/supervisor/api/workers/b/stop' },
  { method: 'POST', path: '/supervisor/api/workers/b/start' },
  { method: 'POST', path: '/supervisor/api/workers/B/stop' },
  { method: 'POST', path: '/supervisor/api/workers/nobody/stop' },
  { method: 'POST', path: '/supervisor/api/current', body: { handle: 'b' } },
  { method: 'DELETE', path: '/supervisor/api/profiles/b' },
  { method: 'DELETE', path: '/supervisor/api/profiles/nobody' },
];

/** Every state-changing route of a worker (reached through the supervisor) and of the supervisor. */
const STATE_CHANGING: { method: string; path: string; body?: string }[] = [
  { method: 'POST', path: '/api/profile/register', body: '{"handle":"c"}' },
  { method: 'POST', path: '/api/profile/switch', body: '{"handle":"b"}' },
  { method: 'POST', path: '/p/a/api/profile/delete', body: '{"handle":"b"}' },
  { method: 'POST', path: '/p/a/api/auth/google' },
  { method: 'POST', path: '/p/a/api/save-profile-credentials', body: '{"mis_username":"evil@example.com"}' },
  { method: 'POST', path: '/p/a/api/init-all' },
  { method: 'POST', path: '/p/a/api/browser/close' },
  { method: 'POST', path: '/p/a/api/mis/pull-csv' },
  { method: 'POST', path: '/p/a/api/mis/upload-csv', body: 'a,b\n1,2\n' },
  { method: 'POST', path: '/p/a/api/mis/load-sheet', body: '{"spreadsheet_id":"x"}' },
  { method: 'PUT', path: '/p/a/api/session/k', body: '{"value":"evil"}' },
  { method: 'DELETE', path: '/p/a/api/session/kept' },
  { method: 'DELETE', path: '/p/a/api/session' },
  { method: 'POST', path: '/supervisor/api/workers/b/restart' },
  { method: 'POST', path: '/supervisor/api/workers/b/stop' },
  { method: 'POST', path: '/supervisor/api/current', body: '{"handle":"b"}' },
  { method: 'DELETE', path: '/supervisor/api/profiles/b' },
];

async function state(sup: RunningSupervisor) {
  const workers = await sup.workers();
  return {
    files: snapshotTree(sup.config.dir),
    workers: workers.map((w) => `${w.handle}:${w.pid}:${w.state}`).sort(),
    current: await sup.current(),
  };
}

async function assertUnchanged(sup: RunningSupervisor, before: Awaited<ReturnType<typeof state>>, what: string) {
  const now = await state(sup);
  assert.deepEqual(now.workers, before.workers, `${what}: the workers changed`);
  assert.equal(now.current, before.current, `${what}: the current profile changed`);
  assert.deepEqual(diffTrees(before.files, now.files), [], `${what}: the config dir changed`);
}

test('SUPERVISOR_TOKEN set: every supervisor write endpoint refuses a missing or wrong token and changes nothing', async (t) => {
  const ev = new Evidence();
  const sup = await startSupervisor({ profiles: ['a', 'b'], env: { SUPERVISOR_TOKEN: SECRETS.supervisorToken } });
  ev.watch('supervisor output', () => sup.proc.output());
  t.after(() => sup.cleanup());
  const before = await state(sup);
  const wrong = [
    undefined,
    '',
    'Bearer',
    'Bearer ',
    `Bearer ${SECRETS.supervisorToken}x`,
    `Bearer ${SECRETS.supervisorToken.slice(0, -1)}`,
    `Bearer ${SECRETS.supervisorToken.toLowerCase()}`,
    `Basic ${Buffer.from(`admin:${SECRETS.supervisorToken}`).toString('base64')}`,
    SECRETS.supervisorToken,
    `Token ${SECRETS.supervisorToken}`,
    `Bearer ${SECRETS.supervisorToken},Bearer x`,
    `Bearer\t${'x'.repeat(SECRETS.supervisorToken.length)}`,
  ];
  for (const endpoint of WRITE_ENDPOINTS) {
    for (const authorization of wrong) {
      const headers: Record<string, string> = authorization === undefined ? {} : { authorization };
      // the same, with the token in the other places a client might put it
      const extras: Record<string, string>[] = [{}, { 'x-supervisor-token': SECRETS.supervisorToken }, { cookie: `token=${SECRETS.supervisorToken}` }];
      for (const extra of extras) {
        const r = await request(sup.port, endpoint.method, `${endpoint.path}?token=${SECRETS.supervisorToken.slice(0, 3)}`, { body: endpoint.body, headers: { ...headers, ...extra }, record: ev });
        assert.equal(r.status, 401, `${endpoint.method} ${endpoint.path} with ${JSON.stringify(authorization)}: ${r.status} ${r.text}`);
        assert.equal(r.body.error, 'unauthorized');
        assert.match(String(r.headers['www-authenticate']), /^Bearer/);
      }
    }
  }
  await assertUnchanged(sup, before, 'after refused writes');
  // reads need no token; the right token works
  assert.equal((await request(sup.port, 'GET', '/supervisor/api/workers', { record: ev })).status, 200);
  const ok = await request(sup.port, 'POST', '/supervisor/api/workers/b/restart', { headers: { authorization: `Bearer ${SECRETS.supervisorToken}` }, record: ev });
  assert.equal(ok.status, 200, ok.text);
  // worker routes are not supervisor endpoints: no token needed (they have their own protections)
  assert.equal((await request(sup.port, 'PUT', '/p/a/api/session/x', { body: { value: 1 }, record: ev })).status, 200);
  ev.assertClean();
});

test('no Access-Control-Allow-Origin: * anywhere; every listening socket is bound to 127.0.0.1', async (t) => {
  const ev = new Evidence();
  const sup = await startSupervisor({ profiles: ['a', 'b'] });
  const firstRun = await startSupervisor({ profiles: [] });
  ev.watch('supervisor output', () => sup.proc.output());
  ev.watch('first-run supervisor output', () => firstRun.proc.output());
  t.after(async () => {
    await sup.cleanup();
    await firstRun.cleanup();
  });
  // preflights and simple requests from another origin, everywhere
  const paths = ['/', '/healthz', '/metrics', '/supervisor/api/workers', '/supervisor/api/workers/a', '/supervisor/api/workers/a/logs', '/supervisor/api/current', '/p/a/', '/p/a/healthz', '/p/a/api/profiles', '/p/a/api/get-credentials', '/api/profile/current', '/api/session', '/assets/base.css', '/nope'];
  for (const s of [sup, firstRun]) {
    for (const path of paths) {
      for (const origin of ['http://evil.example', 'null', `http://127.0.0.1:${s.port}`]) {
        await request(s.port, 'OPTIONS', path, { headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type, authorization' }, record: ev });
        await request(s.port, 'GET', path, { headers: { origin }, record: ev });
      }
    }
  }
  assert.ok(ev.exchanges.length > 150);
  for (const ex of ev.exchanges) {
    assert.equal(ex.headers['access-control-allow-origin'], undefined, `${ex.what}: Access-Control-Allow-Origin ${String(ex.headers['access-control-allow-origin'])}`);
    assert.equal(ex.headers['access-control-allow-credentials'], undefined, ex.what);
  }

  // bound addresses: the supervisor, its workers, and the setup worker of first-run mode
  const setup = (await firstRun.workers())[0]!;
  assert.equal(setup.handle, null);
  const pids = [sup.proc.pid, firstRun.proc.pid, ...(await sup.workers()).map((w) => w.pid!), setup.pid!];
  for (const pid of pids) {
    const sockets = listeningSockets(pid);
    assert.ok(sockets.length >= 1, `process ${pid} listens on nothing`);
    for (const s of sockets) assert.equal(s.address, '127.0.0.1', `process ${pid} listens on ${s.address}:${s.port}`);
    // a Unix socket (if the worker has one for the supervisor) is private to this user: 0600 in a 0700 folder
    for (const file of listeningUnixSockets(pid)) {
      assert.equal((await fs.stat(file)).mode & 0o077, 0, `${file} is open to other users`);
      assert.equal((await fs.stat(path.dirname(file))).mode & 0o077, 0, `${path.dirname(file)} is open to other users`);
    }
  }
  ev.assertClean();
});

test('cross-site requests (another Origin, Sec-Fetch-Site, or a form content type) to every state-changing route are refused and change nothing', async (t) => {
  const ev = new Evidence();
  const config = await makeConfigDir({ profiles: ['a', 'b'] });
  await config.addCredentials('c');
  await config.writeJson('blaze_configs/blaze_config_a.json', blazeConfigWithSecrets('a@mis.example'));
  await config.writeJson('sessions/session_a.json', { kept: 'yes' });
  await config.writeJson('last_profile.json', { last_profile: 'a' });
  // should a refusal fail, init-all and pull-csv must still not leave the machine: the MIS is a closed local port
  const sup = await startSupervisor({ config, profiles: ['a', 'b'], env: { MIS_URL: 'http://127.0.0.1:9/daily-discount' } });
  ev.watch('supervisor output', () => sup.proc.output());
  t.after(async () => {
    await sup.cleanup();
    await config.remove();
  });
  const api = client(sup.port, { record: ev });
  const before = await state(sup);
  const own = `http://127.0.0.1:${sup.port}`;
  const variants: { what: string; headers: Record<string, string>; body?: (b: string | undefined) => string | undefined }[] = [
    { what: 'Origin of another site', headers: { origin: 'http://evil.example', 'content-type': 'application/json' } },
    { what: 'Origin of another port on this host', headers: { origin: 'http://127.0.0.1:1', 'content-type': 'application/json' } },
    { what: 'Origin: null (sandboxed frame)', headers: { origin: 'null', 'content-type': 'application/json' } },
    { what: 'Sec-Fetch-Site: cross-site', headers: { 'sec-fetch-site': 'cross-site', 'content-type': 'application/json' } },
    { what: 'a urlencoded form, no Origin', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: () => 'handle=b&mis_username=evil' },
    { what: 'a multipart form, no Origin', headers: { 'content-type': 'multipart/form-data; boundary=XyZ' }, body: () => '--XyZ\r\nContent-Disposition: form-data; name="handle"\r\n\r\nb\r\n--XyZ--\r\n' },
    { what: 'a text/plain form, no Origin', headers: { 'content-type': 'text/plain' }, body: (b) => b ?? 'x=y' },
    { what: 'a form from another site', headers: { origin: 'http://evil.example', 'content-type': 'application/x-www-form-urlencoded' }, body: () => 'handle=b' },
  ];
  const accepted: string[] = [];
  for (const route of STATE_CHANGING) {
    for (const v of variants) {
      const body = v.body ? v.body(route.body) : route.body;
      const r = await api.send(route.method, route.path, { body, headers: v.headers });
      if (r.status !== 403 && r.status !== 415) accepted.push(`${route.method} ${route.path} with ${v.what} → ${r.status} ${r.text.slice(0, 150)}`);
      else assert.ok(['forbidden', 'unsupported_media_type'].includes(r.body.error), `${route.path}: ${r.text}`);
    }
  }
  assert.deepEqual(accepted, [], `accepted:\n${accepted.join('\n')}`);
  await assertUnchanged(sup, before, 'after cross-site requests');
  assert.deepEqual(await config.readJson('sessions/session_a.json'), { kept: 'yes' });

  // the project's own pages (same origin, JSON or text/csv) still work
  const same = { origin: own, 'sec-fetch-site': 'same-origin' };
  assert.equal((await api.put('/p/a/api/session/k', { value: 1 }, same)).status, 200);
  assert.equal((await api.send('POST', '/p/a/api/mis/upload-csv', { body: 'a,b\n1,2\n', headers: { ...same, 'content-type': 'text/csv' } })).status, 201);
  assert.equal((await api.post('/supervisor/api/workers/b/restart', undefined, same)).status, 200);
  assert.equal((await api.post('/api/profile/switch', { handle: 'b' }, same)).status, 200);
  ev.assertClean();
});
