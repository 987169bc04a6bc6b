// The supervisor's routes: /p/<h>/… to worker(h), prefix stripped, query and body untouched;
// unknown or invalid handles are 404 `profile_not_found` and never spawn anything; PROFILES limits the set.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startSupervisor, type RunningSupervisor } from '../helpers/supervisor.ts';

const handles = ['a.one', 'b-two', 'c3'];

test('routing to three profiles', async (t) => {
  const sup: RunningSupervisor = await startSupervisor({ profiles: handles });
  t.after(() => sup.cleanup());

  await t.test('/p/<h>/api/profile/current answers each own handle', async () => {
    for (const h of handles) {
      const r = await sup.get(`/p/${h}/api/profile/current`);
      assert.equal(r.status, 200, r.text);
      assert.equal(r.body.handle, h);
    }
  });

  await t.test('the /p/<h> prefix is stripped: the worker sees its own path', async () => {
    const r = await sup.get('/p/b-two/no/such/page?x=1');
    assert.equal(r.status, 404);
    assert.equal(r.body.error, 'not_found');
    assert.match(r.body.message, /GET \/no\/such\/page$/);
  });

  await t.test('a query string passes through untouched', async () => {
    const r = await sup.get('/p/c3/api/profile/check-credentials/a.one?verbose=1&x=%2Fp%2Fb-two%2F');
    assert.equal(r.status, 200, r.text);
    assert.equal(r.body.handle, 'a.one');
    assert.equal(r.body.exists, true);
    // the OAuth callback reads its query: what it reports is what the client sent
    const callback = await sup.get('/p/c3/api/auth/google/callback?error=access_denied%2Bby-user&state=s');
    assert.equal(callback.status, 400, callback.text);
    assert.equal(callback.body.error, 'not_authenticated');
    assert.match(callback.body.message, /\(access_denied\+by-user\)/);
    const bare = await sup.get('/p/c3/api/auth/google/callback');
    assert.equal(bare.status, 400);
    assert.equal(bare.body.error, 'invalid_state');
  });

  await t.test('each worker knows its /p/<h> prefix: its OAuth redirect URI is under it', async () => {
    for (const h of handles) {
      const r = await sup.post(`/p/${h}/api/auth/google`);
      assert.equal(r.status, 200, r.text);
      assert.equal(r.body.redirect_uri, `http://localhost:${sup.port}/p/${h}/api/auth/google/callback`);
    }
    // /api goes to the current profile (the first one, sorted): the same URI as its /p/<h>/ one
    const current = await sup.post('/api/auth/google');
    assert.equal(current.body.redirect_uri, `http://localhost:${sup.port}/p/a.one/api/auth/google/callback`);
  });

  await t.test('POST bodies pass through, to the right profile only', async () => {
    const saved = await sup.post('/p/b-two/api/save-profile-credentials?src=test', {
      mis_username: 'b-two@example.com',
      blaze_api_url: 'https://api.blaze.me',
    });
    assert.equal(saved.status, 200, saved.text);
    assert.equal(saved.body.handle, 'b-two');
    const b = await sup.get('/p/b-two/api/get-credentials');
    assert.equal(b.status, 200);
    assert.equal(b.body.mis_username, 'b-two@example.com');
    assert.equal(b.body.blaze_api_url, 'https://api.blaze.me');
    const a = await sup.get('/p/a.one/api/get-credentials');
    assert.equal(a.status, 200);
    assert.equal(a.body.mis_username, undefined);
    // the bytes reached the file of b-two only
    const stored = await sup.config.readJson('blaze_configs/blaze_config_b-two.json');
    assert.equal(stored.mis_username, 'b-two@example.com');
  });

  await t.test('a body the worker refuses comes back unchanged (status and JSON error)', async () => {
    const r = await sup.request('POST', '/p/a.one/api/save-profile-credentials', {
      body: '{"mis_username": ',
      headers: { 'content-type': 'application/json' },
    });
    assert.equal(r.status, 400);
    assert.equal(r.body.error, 'invalid_json');
  });

  await t.test('unknown handle: 404 profile_not_found, no worker spawned', async () => {
    const before = await sup.workers();
    for (const path of ['/p/nobody/', '/p/nobody/api/profile/current', '/p/nobody']) {
      const r = await sup.get(path);
      assert.equal(r.status, 404, `${path}: ${r.text}`);
      assert.equal(r.body.success, false);
      assert.equal(r.body.error, 'profile_not_found');
      assert.equal(typeof r.body.message, 'string');
    }
    const after = await sup.workers();
    assert.deepEqual(
      after.map((w) => [w.handle, w.pid]),
      before.map((w) => [w.handle, w.pid]),
    );
    assert.equal(await sup.config.exists('tokens/token_nobody.json'), false);
  });

  await t.test('invalid handles: 404 profile_not_found', async () => {
    const before = await sup.workers();
    for (const path of ['/p/NICK.TAT/', '/p/A.ONE/api/profile/current', '/p/..%2f/', '/p/../', '/p/a_b/', '/p/%2e%2e/', '/p/.a/', '/p//', `/p/${'x'.repeat(65)}/`]) {
      const r = await sup.get(path);
      assert.equal(r.status, 404, `${path}: ${r.status} ${r.text}`);
      assert.equal(r.body.error, 'profile_not_found', path);
    }
    assert.equal((await sup.workers()).length, before.length);
  });

  await t.test('/p/<h> redirects 308 to /p/<h>/ (query kept)', async () => {
    const r = await sup.get('/p/a.one');
    assert.equal(r.status, 308);
    assert.equal(r.headers.location, '/p/a.one/');
    const q = await sup.get('/p/a.one?tab=settings');
    assert.equal(q.status, 308);
    assert.equal(q.headers.location, '/p/a.one/?tab=settings');
  });

  await t.test('a page served by the supervisor may POST to its worker; another origin may not', async () => {
    const worker = (await sup.worker('a.one'))!;
    const body = { mis_username: 'same-origin@example.com' };
    const same = await sup.post('/p/a.one/api/save-profile-credentials', body, { origin: `http://127.0.0.1:${sup.port}`, 'sec-fetch-site': 'same-origin' });
    assert.equal(same.status, 200, same.text);
    for (const origin of [`http://127.0.0.1:${worker.port}`, 'http://evil.example']) {
      const other = await sup.post('/p/a.one/api/save-profile-credentials', body, { origin });
      assert.equal(other.status, 403, `${origin}: ${other.text}`);
      assert.equal(other.body.error, 'forbidden');
    }
  });

  await t.test('a client-sent X-Forwarded-Prefix does not disturb routing', async () => {
    // The worker echoes no request header, so the X-Forwarded-Prefix it receives cannot be read from outside;
    // what can be checked is that a forged one changes nothing (the proxy replaces it, or removes it on /api).
    const r = await sup.get('/api/profile/current', { 'x-forwarded-prefix': '/p/evil' });
    assert.equal(r.status, 200);
    assert.equal(r.body.handle, 'a.one');
    const p = await sup.get('/p/b-two/api/profile/current', { 'x-forwarded-prefix': '/p/a.one' });
    assert.equal(p.body.handle, 'b-two');
  });
});

test('PROFILES=a,b with a, b and c on disk: only a and b get workers; /p/c/ is 404', async (t) => {
  const sup = await startSupervisor({ profiles: ['a', 'b', 'c'], env: { PROFILES: 'a,b' }, waitReady: ['a', 'b'] });
  t.after(() => sup.cleanup());
  const list = await sup.workers();
  assert.deepEqual(list.map((w) => w.handle).sort(), ['a', 'b']);
  for (const h of ['a', 'b']) {
    const r = await sup.get(`/p/${h}/api/profile/current`);
    assert.equal(r.status, 200);
    assert.equal(r.body.handle, h);
  }
  for (const path of ['/p/c/', '/p/c/api/profile/current']) {
    const r = await sup.get(path);
    assert.equal(r.status, 404, r.text);
    assert.equal(r.body.error, 'profile_not_found');
  }
  assert.equal((await sup.workers()).length, 2);
  const direct = await sup.get('/supervisor/api/workers/c');
  assert.equal(direct.status, 404);
});
