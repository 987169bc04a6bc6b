// The supervisor API: list, one, logs, stop/start, current, delete, /healthz; write endpoints
// behind SUPERVISOR_TOKEN when it is set. And its log stream: worker lines tagged {handle, pid}, no secrets.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TEST_CLIENT_SECRET } from '../helpers/config-dir.ts';
import { isAlive, waitFor } from '../helpers/processes.ts';
import { startSupervisor } from '../helpers/supervisor.ts';

test('list, one, logs, healthz, stop/start, current, delete', async (t) => {
  const sup = await startSupervisor({ profiles: ['a', 'b'] });
  t.after(() => sup.cleanup());

  await t.test('list and one', async () => {
    const list = await sup.get('/supervisor/api/workers');
    assert.equal(list.status, 200);
    assert.equal(list.body.success, true);
    assert.equal(list.body.current, 'a');
    assert.equal(list.body.first_run, false);
    assert.deepEqual(list.body.workers.map((w: any) => w.handle), ['a', 'b']);
    for (const w of list.body.workers) {
      for (const key of ['handle', 'state', 'pid', 'port', 'direct_url', 'restarts', 'last_exit', 'problem']) assert.ok(key in w, key);
      assert.equal(w.state, 'ready');
      assert.equal(w.direct_url, `http://127.0.0.1:${w.port}/`);
    }
    const one = await sup.get('/supervisor/api/workers/b');
    assert.equal(one.status, 200);
    assert.equal(one.body.worker.handle, 'b');
    assert.equal(one.body.worker.pid, list.body.workers[1].pid);
    assert.equal((await sup.get('/supervisor/api/workers/nobody')).body.error, 'profile_not_found');
    const bad = await sup.get('/supervisor/api/workers/a_b');
    assert.equal(bad.status, 400);
    assert.equal(bad.body.error, 'invalid_handle');
  });

  await t.test('logs: the worker\'s own lines, startup included, tagged with handle and pid', async () => {
    const a = (await sup.worker('a'))!;
    const logs = await sup.get('/supervisor/api/workers/a/logs');
    assert.equal(logs.status, 200);
    assert.equal(logs.body.handle, 'a');
    const startup = logs.body.lines.find((l: any) => typeof l.msg === 'string' && l.msg.includes('listening on'));
    assert.ok(startup, JSON.stringify(logs.body.lines).slice(0, 1000));
    assert.equal(startup.handle, 'a');
    assert.equal(startup.pid, a.pid);
    assert.ok(logs.body.lines.every((l: any) => l.handle === 'a'), 'only a\'s lines');
    const tail = await sup.get('/supervisor/api/workers/a/logs?lines=1');
    assert.equal(tail.body.lines.length, 1);
    const readable = await sup.get('/supervisor/api/workers/a/logs?format=readable');
    const shown = readable.body.lines.find((l: any) => l.text.includes('listening on'));
    assert.ok(shown, JSON.stringify(readable.body.lines).slice(0, 1000));
    assert.equal(shown.level, 'info');
    assert.match(shown.at, /^\d{4}-\d\d-\d\dT/);
    assert.ok(!shown.text.includes('{'), `as the pages show it: ${shown.text}`);
  });

  await t.test('/healthz counts workers by state', async () => {
    const r = await sup.get('/healthz');
    assert.equal(r.status, 200);
    assert.equal(r.body.status, 'ok');
    assert.deepEqual(r.body.workers, { ready: 2 });
    assert.equal(r.body.current, 'a');
  });

  await t.test('stop and start', async () => {
    const before = (await sup.worker('b'))!;
    const stop = await sup.post('/supervisor/api/workers/b/stop');
    assert.equal(stop.status, 200, stop.text);
    assert.equal(stop.body.worker.state, 'stopped');
    assert.equal(stop.body.worker.pid, null);
    await waitFor('the b process to exit', () => !isAlive(before.pid!), 3000);
    const refused = await sup.get('/p/b/healthz');
    assert.equal(refused.status, 503);
    assert.equal(refused.body.error, 'worker_unavailable');
    assert.ok(refused.headers['retry-after']);
    assert.deepEqual((await sup.get('/healthz')).body.workers, { ready: 1, stopped: 1 });

    // a stopped worker stays stopped while the supervisor reconciles other changes
    await sup.config.addProfile('c');
    await sup.waitForState('c', 'ready', 15_000);
    assert.equal((await sup.worker('b'))!.state, 'stopped');

    const start = await sup.post('/supervisor/api/workers/b/start');
    assert.equal(start.status, 200, start.text);
    const after = await sup.waitForState('b', 'ready', 15_000);
    assert.notEqual(after.pid, before.pid);
    assert.equal(after.port, before.port);
    assert.equal((await sup.get('/p/b/healthz')).status, 200);
  });

  await t.test('POST /supervisor/api/current re-points /api', async () => {
    const a = (await sup.worker('a'))!;
    const r = await sup.post('/supervisor/api/current', { handle: 'b' });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.body.current, 'b');
    const current = await sup.get('/api/profile/current');
    assert.equal(current.body.handle, 'b');
    assert.deepEqual(await sup.config.readJson('last_profile.json'), { last_profile: 'b' });
    assert.equal((await sup.worker('a'))!.pid, a.pid, 'a was not touched');
    const unknown = await sup.post('/supervisor/api/current', { handle: 'nobody' });
    assert.equal(unknown.status, 404);
    const invalid = await sup.post('/supervisor/api/current', { handle: '../x' });
    assert.equal(invalid.status, 400);
    assert.equal(invalid.body.error, 'invalid_handle');
  });

  await t.test('DELETE /supervisor/api/profiles/:h removes the token and stops the worker', async () => {
    const c = (await sup.worker('c'))!;
    const r = await sup.request('DELETE', '/supervisor/api/profiles/c');
    assert.equal(r.status, 200, r.text);
    assert.equal(r.body.handle, 'c');
    assert.equal(await sup.config.exists('tokens/token_c.json'), false);
    assert.equal(await sup.config.exists('google_creds/credentials_c.json'), true);
    await waitFor('c to leave the list', async () => !(await sup.worker('c')), 3000);
    await waitFor('the c process to exit', () => !isAlive(c.pid!), 3000);
    assert.equal((await sup.get('/p/c/healthz')).status, 404);
    const again = await sup.request('DELETE', '/supervisor/api/profiles/c');
    assert.equal(again.status, 404);
    assert.equal(again.body.error, 'profile_not_found');
  });

  await t.test('a cross-site write is refused', async () => {
    const r = await sup.post('/supervisor/api/workers/a/restart', undefined, { origin: 'http://evil.example' });
    assert.equal(r.status, 403);
    assert.equal(r.body.error, 'forbidden');
  });
});

test('SUPERVISOR_TOKEN: write endpoints need the bearer token, reads do not', async (t) => {
  const token = 'sup-token-9f8e7d';
  const sup = await startSupervisor({ profiles: ['a', 'b', 'c'], env: { SUPERVISOR_TOKEN: token } });
  t.after(() => sup.cleanup());
  const pids = new Map((await sup.workers()).map((w) => [w.handle, w.pid]));

  const writes: [string, string, unknown][] = [
    ['POST', '/supervisor/api/workers/a/restart', undefined],
    ['POST', '/supervisor/api/workers/b/stop', undefined],
    ['POST', '/supervisor/api/workers/b/start', undefined],
    ['POST', '/supervisor/api/current', { handle: 'b' }],
    ['DELETE', '/supervisor/api/profiles/c', undefined],
  ];
  for (const [method, path, body] of writes) {
    for (const headers of [{} as Record<string, string>, { authorization: 'Bearer wrong-token' }, { authorization: `Basic ${token}` }, { authorization: `Bearer ${token}x` }]) {
      const r = await sup.request(method, path, { body, headers });
      assert.equal(r.status, 401, `${method} ${path} with ${JSON.stringify(headers)}: ${r.text}`);
      assert.equal(r.body.error, 'unauthorized');
      assert.match(String(r.headers['www-authenticate']), /^Bearer/);
      assert.doesNotMatch(r.text, new RegExp(token));
    }
  }
  // nothing happened
  assert.deepEqual(new Map((await sup.workers()).map((w) => [w.handle, w.pid])), pids);
  assert.equal(await sup.config.exists('tokens/token_c.json'), true);
  assert.equal((await sup.get('/api/profile/current')).body.handle, 'a');

  // reads need no token
  assert.equal((await sup.get('/supervisor/api/workers')).status, 200);
  assert.equal((await sup.get('/supervisor/api/workers/a/logs')).status, 200);
  assert.equal((await sup.get('/healthz')).status, 200);

  // with the token, every write works
  for (const [method, path, body] of writes) {
    const r = await sup.request(method, path, { body, headers: { authorization: `Bearer ${token}` } });
    assert.equal(r.status, 200, `${method} ${path}: ${r.text}`);
  }
  assert.notEqual((await sup.worker('a'))!.pid, pids.get('a'));
  await sup.waitForState('b', 'ready', 15_000);
  assert.equal((await sup.get('/api/profile/current')).body.handle, 'b');
  assert.equal(await sup.config.exists('tokens/token_c.json'), false);
});

test('logs: worker lines carry handle and pid; no secret reaches the log stream', async (t) => {
  const sup = await startSupervisor({ profiles: ['a', 'b'] });
  t.after(() => sup.cleanup());
  const misPassword = 'Mis-Pa55word-q8Zr';
  const blazePassword = 'Blaze-Pa55word-w3Xy';
  const accessToken = 'ya29.access-token-secret-k2Lm';
  const refreshToken = '1//refresh-token-secret-p9Qs';

  const saved = await sup.post('/p/a/api/save-profile-credentials', { mis_username: 'a@example.com', mis_password: misPassword, blaze_password: blazePassword });
  assert.equal(saved.status, 200, saved.text);
  // a bad request that carries the password too
  const bad = await sup.post('/p/a/api/save-profile-credentials', { mis_password: misPassword, not_a_field: misPassword });
  assert.equal(bad.status, 400);
  // a real token (original shape, with the client secret in it) for b
  await sup.config.writeJson('tokens/token_b.json', {
    token: accessToken,
    refresh_token: refreshToken,
    token_uri: 'https://oauth2.googleapis.com/token',
    client_id: 'b.apps.googleusercontent.com',
    client_secret: TEST_CLIENT_SECRET,
    scopes: ['https://www.googleapis.com/auth/spreadsheets'],
    expiry: '2099-01-01T00:00:00',
  });
  await waitFor('b to read its token', async () => (await sup.get('/p/b/api/profile/current')).body.authenticated === true, 5000);
  // restarts make both workers log their start again
  assert.equal((await sup.post('/supervisor/api/workers/a/restart')).status, 200);
  assert.equal((await sup.post('/supervisor/api/workers/b/restart')).status, 200);
  const [a, b] = [(await sup.worker('a'))!, (await sup.worker('b'))!];
  assert.equal((await sup.get('/p/a/api/get-credentials')).body.mis_password_set, true);

  for (const w of [a, b]) {
    const line = await sup.proc.waitForLine((l) => l.handle === w.handle && l.pid === w.pid && typeof l.msg === 'string' && l.msg.includes('listening on'));
    assert.notEqual(line.pid, sup.proc.pid);
  }
  const workerLines = sup.proc.lines.filter((l) => 'handle' in l && l.name !== 'supervisor');
  assert.ok(workerLines.length > 4);
  for (const l of workerLines) {
    assert.equal(typeof l.pid, 'number', JSON.stringify(l));
    assert.ok(l.handle === 'a' || l.handle === 'b', JSON.stringify(l));
  }

  const logs = [(await sup.get('/supervisor/api/workers/a/logs')).text, (await sup.get('/supervisor/api/workers/b/logs')).text];
  for (const text of [sup.proc.output(), ...logs]) {
    for (const secret of [TEST_CLIENT_SECRET, misPassword, blazePassword, accessToken, refreshToken]) {
      assert.equal(text.includes(secret), false, `"${secret}" reached the log`);
    }
  }
});
