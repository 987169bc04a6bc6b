// The worker's profile routes (worker/web/routes/profiles.ts), in this process: list, current, files,
// check-credentials, register, switch, delete — each answer and each refusal with its status and code
// (README, "API"), and what each one leaves on disk.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { makeConfigDir, TEST_CLIENT_SECRET, type TestConfigDir } from '../helpers/config-dir.ts';
import { inProcessWorker, serve, type InProcessWorker, type Served } from '../helpers/in-process.ts';
import type { Handle } from '../../shared/profiles/handle.ts';

const SECRET = 'the-supervisors-secret';

async function setup(t: TestContext, handle: Handle | null = 'a', profiles = ['a', 'b']): Promise<{ config: TestConfigDir; worker: InProcessWorker; http: Served }> {
  const config = await makeConfigDir({ profiles });
  const worker = await inProcessWorker(config.dir, handle, {}, SECRET);
  const http = await serve(worker.app);
  t.after(async () => {
    await http.close();
    await config.remove();
  });
  return { config, worker, http };
}

test('GET /api/profiles lists every profile with the active one; someone the supervisor names sees only theirs', async (t) => {
  const { config, http } = await setup(t);
  await config.addCredentials('c'); // credentials only: not registered
  const all = await http.request('GET', '/api/profiles');
  assert.equal(all.status, 200);
  assert.equal(all.json.success, true);
  assert.equal(all.json.current, 'a');
  assert.deepEqual(all.json.profiles, [
    { handle: 'a', registered: true, has_credentials: true, authenticated: false, is_active: true },
    { handle: 'b', registered: true, has_credentials: true, authenticated: false, is_active: false },
    { handle: 'c', registered: false, has_credentials: true, authenticated: false, is_active: false },
  ]);
  const lisa = await http.request('GET', '/api/profiles', { headers: { 'x-tat-internal': SECRET, 'x-tat-user': 'lisa', 'x-tat-grants': 'b' } });
  assert.equal(lisa.status, 200);
  assert.deepEqual(lisa.json.profiles.map((p: { handle: string }) => p.handle), ['b']);
  assert.ok(!all.text.includes(TEST_CLIENT_SECRET), 'no client secret in the list');
});

test('GET /api/profile/current and /api/profile/files: the profile and its three files; the setup worker has none', async (t) => {
  const { config, http } = await setup(t);
  const current = await http.request('GET', '/api/profile/current');
  assert.equal(current.status, 200);
  assert.deepEqual(current.json, { success: true, handle: 'a', has_credentials: true, authenticated: false });

  const files = await http.request('GET', '/api/profile/files');
  assert.equal(files.status, 200);
  assert.equal(files.json.handle, 'a');
  assert.equal(files.json.credentials.state, 'ok');
  assert.equal(files.json.token.state, 'ok');
  assert.deepEqual(files.json.blaze_config, { file: config.file('blaze_configs', 'blaze_config_a.json'), state: 'missing', reason: null, fix: null });

  const setup2 = await inProcessWorker(config.dir, null, {}, SECRET);
  const first = await serve(setup2.app);
  t.after(() => first.close());
  const none = await first.request('GET', '/api/profile/current');
  assert.equal(none.status, 200);
  assert.deepEqual(none.json, { success: true, handle: null, has_credentials: false, authenticated: false, first_run: true });
  const noFiles = await first.request('GET', '/api/profile/files');
  assert.equal(noFiles.status, 409);
  assert.equal(noFiles.json.error, 'no_active_profile');
});

test('GET /api/profile/check-credentials/:handle: whether the file exists and where it must be; a bad handle is 400', async (t) => {
  const { config, http } = await setup(t);
  const there = await http.request('GET', '/api/profile/check-credentials/b');
  assert.equal(there.status, 200);
  assert.deepEqual(there.json, { success: true, handle: 'b', exists: true, expected_path: 'google_creds/credentials_b.json', file: config.file('google_creds', 'credentials_b.json') });
  const missing = await http.request('GET', '/api/profile/check-credentials/new.one');
  assert.equal(missing.status, 200);
  assert.equal(missing.json.exists, false);
  assert.equal(missing.json.expected_path, 'google_creds/credentials_new.one.json');
  for (const bad of ['bad_handle', 'a..b', '-a', 'x'.repeat(65), '%2e%2e', 'a%2Fb']) {
    const reply = await http.request('GET', `/api/profile/check-credentials/${bad}`);
    assert.equal(reply.status, 400, bad);
    assert.equal(reply.json.error, 'invalid_handle', bad);
  }
});

test('POST /api/profile/register: 201 with the files made; credentials_not_found (with file), profile_exists, invalid_handle', async (t) => {
  const { config, http } = await setup(t);
  await config.addCredentials('c');
  const created = await http.request('POST', '/api/profile/register', { json: { handle: ' C ' } });
  assert.equal(created.status, 201, created.text);
  assert.equal(created.json.success, true);
  assert.equal(created.json.handle, 'c');
  assert.equal(created.json.url, '/p/c/');
  assert.deepEqual(await config.readJson('tokens/token_c.json'), { placeholder: true, handle: 'c' });
  assert.deepEqual(await config.readJson('blaze_configs/blaze_config_c.json'), {});
  assert.deepEqual(await config.readJson('last_profile.json'), { last_profile: 'c' });
  assert.equal(await config.exists('chrome/chrome_c'), true);
  assert.equal(await config.exists('downloads/c'), true);

  const again = await http.request('POST', '/api/profile/register', { json: { handle: 'c' } });
  assert.equal(again.status, 409);
  assert.equal(again.json.error, 'profile_exists');

  const before = await config.snapshot();
  const none = await http.request('POST', '/api/profile/register', { json: { handle: 'nocreds' } });
  assert.equal(none.status, 404);
  assert.equal(none.json.success, false);
  assert.equal(none.json.error, 'credentials_not_found');
  assert.equal(none.json.expected_path, 'google_creds/credentials_nocreds.json');
  assert.equal(none.json.file, config.file('google_creds', 'credentials_nocreds.json'));
  assert.ok(none.json.message.includes(none.json.file), 'the message says where to put the file');

  for (const body of [{ handle: 'Bad_Handle' }, { handle: 'a..b' }, { handle: 42 }, {}, { handle: '' }]) {
    const reply = await http.request('POST', '/api/profile/register', { json: body });
    assert.equal(reply.status, 400, JSON.stringify(body));
    assert.equal(reply.json.error, 'invalid_handle', JSON.stringify(body));
  }
  assert.deepEqual(await config.snapshot(), before, 'nothing refused was written');
});

test('POST /api/profile/register: a handle a deleted profile left files for goes only to someone it is granted to', async (t) => {
  const { config, http } = await setup(t, 'a', ['a']);
  await config.addCredentials('old');
  await config.writeJson('blaze_configs/blaze_config_old.json', { mis_username: 'someone@example.com' });
  const lisa = { 'x-tat-internal': SECRET, 'x-tat-user': 'lisa', 'x-tat-grants': 'a' };
  const refused = await http.request('POST', '/api/profile/register', { json: { handle: 'old' }, headers: lisa });
  assert.equal(refused.status, 403);
  assert.equal(refused.json.error, 'forbidden');
  assert.equal(await config.exists('tokens/token_old.json'), false);
  const granted = await http.request('POST', '/api/profile/register', { json: { handle: 'old' }, headers: { ...lisa, 'x-tat-grants': 'a,old' } });
  assert.equal(granted.status, 201, granted.text);
  assert.deepEqual(await config.readJson('blaze_configs/blaze_config_old.json'), { mis_username: 'someone@example.com' }, 'the kept settings are kept');
});

test('POST /api/profile/switch: writes last_profile.json and tells the supervisor; an unknown profile is 404', async (t) => {
  const { config, worker, http } = await setup(t);
  const switched = await http.request('POST', '/api/profile/switch', { json: { handle: 'b' } });
  assert.equal(switched.status, 200, switched.text);
  assert.equal(switched.json.success, true);
  assert.equal(switched.json.handle, 'b');
  assert.equal(switched.json.requires_restart, true);
  assert.deepEqual(await config.readJson('last_profile.json'), { last_profile: 'b' });
  assert.deepEqual(worker.notified, [{ type: 'switch', handle: 'b', by: 'local' }]);

  await config.addCredentials('c'); // credentials, no token: not a profile
  for (const handle of ['c', 'zz']) {
    const reply = await http.request('POST', '/api/profile/switch', { json: { handle } });
    assert.equal(reply.status, 404, handle);
    assert.equal(reply.json.error, 'profile_not_found', handle);
  }
  assert.deepEqual(await config.readJson('last_profile.json'), { last_profile: 'b' }, 'unchanged by the refused switches');
  assert.equal(worker.notified.length, 1);
});

test('POST /api/profile/delete: removes the token only; the active profile and an unknown one are refused', async (t) => {
  const { config, http } = await setup(t);
  await config.writeJson('blaze_configs/blaze_config_b.json', { mis_username: 'b@example.com' });
  const active = await http.request('POST', '/api/profile/delete', { json: { handle: 'a' } });
  assert.equal(active.status, 409);
  assert.equal(active.json.error, 'cannot_delete_active_profile');
  assert.equal(await config.exists('tokens/token_a.json'), true);

  const deleted = await http.request('POST', '/api/profile/delete', { json: { handle: 'b' } });
  assert.equal(deleted.status, 200, deleted.text);
  assert.deepEqual([deleted.json.success, deleted.json.handle], [true, 'b']);
  assert.equal(await config.exists('tokens/token_b.json'), false);
  assert.equal(await config.exists('google_creds/credentials_b.json'), true, 'credentials kept');
  assert.equal(await config.exists('blaze_configs/blaze_config_b.json'), true, 'blaze config kept');

  const gone = await http.request('POST', '/api/profile/delete', { json: { handle: 'b' } });
  assert.equal(gone.status, 404);
  assert.equal(gone.json.error, 'profile_not_found');
  const bad = await http.request('POST', '/api/profile/delete', { json: { handle: '../a' } });
  assert.equal(bad.status, 400);
  assert.equal(bad.json.error, 'invalid_handle');
});

test('the profile routes read JSON only: malformed, another type, too large, or no body at all', async (t) => {
  const { config, http } = await setup(t);
  const before = await config.snapshot();
  for (const route of ['/api/profile/register', '/api/profile/switch', '/api/profile/delete']) {
    const cases: [string, { headers?: Record<string, string>; body?: string | Buffer }, number, string][] = [
      ['malformed', { headers: { 'content-type': 'application/json' }, body: '{"handle": "b"' }, 400, 'invalid_json'],
      ['not UTF-8', { headers: { 'content-type': 'application/json' }, body: Buffer.from([0x7b, 0x22, 0xff, 0x22, 0x7d]) }, 400, 'invalid_json'],
      ['duplicate key', { headers: { 'content-type': 'application/json' }, body: '{"handle":"b","handle":"c"}' }, 400, 'invalid_json'],
      ['empty', { headers: { 'content-type': 'application/json' }, body: '' }, 400, 'invalid_json'],
      ['an array', { headers: { 'content-type': 'application/json' }, body: '["b"]' }, 400, 'invalid_body'],
      ['too deep', { headers: { 'content-type': 'application/json' }, body: `{"handle":"b","x":${'['.repeat(70)}${']'.repeat(70)}}` }, 400, 'invalid_body'],
      ['no content type', { body: '{"handle":"b"}' }, 415, 'unsupported_media_type'],
      ['XML', { headers: { 'content-type': 'application/xml' }, body: '<handle>b</handle>' }, 415, 'unsupported_media_type'],
      ['a form', { headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'handle=b' }, 415, 'unsupported_media_type'],
      ['text', { headers: { 'content-type': 'text/plain' }, body: '{"handle":"b"}' }, 415, 'unsupported_media_type'],
      ['over 1 MiB', { headers: { 'content-type': 'application/json' }, body: JSON.stringify({ handle: 'b', pad: 'x'.repeat(1024 * 1024) }) }, 413, 'payload_too_large'],
    ];
    for (const [what, options, status, code] of cases) {
      const reply = await http.request('POST', route, options);
      assert.equal(reply.status, status, `${route} ${what}: ${reply.text.slice(0, 200)}`);
      assert.equal(reply.json?.error, code, `${route} ${what}`);
      assert.equal(reply.json.success, false);
    }
  }
  assert.deepEqual(await config.snapshot(), before, 'nothing refused was written');
});

test('another method on a route is 405, an unknown route 404, both in JSON', async (t) => {
  const { http } = await setup(t);
  const wrong = await http.request('GET', '/api/profile/delete');
  assert.equal(wrong.status, 405);
  assert.equal(wrong.json.error, 'method_not_allowed');
  const unknown = await http.request('GET', '/api/profile/nothing-here');
  assert.equal(unknown.status, 404);
  assert.equal(unknown.json.error, 'not_found');
});

test('no profile answer holds a token or the client secret, even of a connected profile', async (t) => {
  const { config, http } = await setup(t);
  const token = { token: 'ya29.access-Token-Secret', refresh_token: '1//refresh-Token-Secret', token_uri: 'https://oauth2.googleapis.com/token', client_id: 'a.apps.googleusercontent.com', client_secret: TEST_CLIENT_SECRET, scopes: ['https://www.googleapis.com/auth/spreadsheets'], expiry: '2099-01-01T00:00:00' };
  await config.writeJson('tokens/token_a.json', token);
  const answers = [
    await http.request('GET', '/api/profiles'),
    await http.request('GET', '/api/profile/current'),
    await http.request('GET', '/api/profile/files'),
    await http.request('GET', '/api/profile/check-credentials/a'),
    await http.request('POST', '/api/profile/register', { json: { handle: 'a' } }),
  ];
  assert.equal(answers[1]!.json.authenticated, true, 'the profile is connected');
  assert.equal(answers[4]!.json.error, 'profile_exists');
  for (const reply of answers) {
    for (const secret of [token.token, token.refresh_token, TEST_CLIENT_SECRET]) assert.ok(!reply.text.includes(secret), `${reply.text.slice(0, 200)}`);
  }
});
