// The Profile Setup Guide's commands, in the guide's order, against a worker run alone.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import { makeConfigDir, TEST_CLIENT_SECRET, type TestConfigDir } from '../helpers/config-dir.ts';
import { startWorker, type RunningWorker } from '../helpers/worker.ts';

const PASSWORD = 'yourpassword-Gx81';
const mode = async (p: string) => (await fs.stat(p)).mode & 0o777;

let config: TestConfigDir;
let worker: RunningWorker | undefined;
const bodies: string[] = [];
const workers: RunningWorker[] = [];

async function start(env: Record<string, string> = {}) {
  const w = await startWorker(config.dir, env);
  workers.push(w);
  worker = w;
  return w;
}
async function get(path: string) {
  const res = await worker!.get(path);
  bodies.push(JSON.stringify(res.body));
  return res;
}
async function post(path: string, body?: unknown) {
  const res = await worker!.post(path, body);
  bodies.push(JSON.stringify(res.body));
  return res;
}

before(async () => {
  config = await makeConfigDir();
});
after(async () => {
  await Promise.all(workers.map((w) => w.kill()));
  await config.remove();
});

test('first run: /api/profile/current answers {handle: null}', async () => {
  await start();
  const res = await get('/api/profile/current');
  assert.equal(res.status, 200);
  assert.equal(res.body.success, true);
  assert.equal(res.body.handle, null);
  const list = await get('/api/profiles');
  assert.equal(list.status, 200);
  assert.deepEqual(list.body.profiles, []);
});

test('check-credentials before the file exists', async () => {
  const res = await get('/api/profile/check-credentials/nick.tat');
  assert.equal(res.status, 200);
  assert.equal(res.body.exists, false);
  assert.equal(res.body.expected_path, 'google_creds/credentials_nick.tat.json');
});

test('register without the credentials file: 404 credentials_not_found, nothing written', async () => {
  const before = await config.snapshot();
  const res = await post('/api/profile/register', { handle: 'nick.tat' });
  assert.equal(res.status, 404);
  assert.equal(res.body.success, false);
  assert.equal(res.body.error, 'credentials_not_found');
  assert.equal(res.body.expected_path, 'google_creds/credentials_nick.tat.json');
  assert.match(res.body.message, /google_creds\/credentials_nick\.tat\.json/);
  assert.deepEqual(await config.snapshot(), before);
});

test('register with the credentials file: 201 and the profile\'s files', async () => {
  await config.addCredentials('nick.tat');
  const check = await get('/api/profile/check-credentials/nick.tat');
  assert.equal(check.body.exists, true);

  const res = await post('/api/profile/register', { handle: 'nick.tat' });
  assert.equal(res.status, 201, JSON.stringify(res.body));
  assert.equal(res.body.success, true);
  assert.equal(res.body.handle, 'nick.tat');
  assert.equal(res.body.url, '/p/nick.tat/');

  const token = config.file('tokens/token_nick.tat.json');
  assert.deepEqual(await config.readJson('tokens/token_nick.tat.json'), { placeholder: true, handle: 'nick.tat' });
  assert.equal(await mode(token), 0o600);
  assert.equal(await mode(config.file('tokens')), 0o700);

  const blaze = config.file('blaze_configs/blaze_config_nick.tat.json');
  assert.deepEqual(await config.readJson('blaze_configs/blaze_config_nick.tat.json'), {});
  assert.equal(await mode(blaze), 0o600);
  assert.equal(await mode(config.file('blaze_configs')), 0o700);

  assert.ok((await fs.stat(config.file('chrome/chrome_nick.tat'))).isDirectory());
  assert.deepEqual(await config.readJson('last_profile.json'), { last_profile: 'nick.tat' });

  const list = await get('/api/profiles');
  assert.deepEqual(
    list.body.profiles.map((p: any) => [p.handle, p.has_credentials, p.authenticated]),
    [['nick.tat', true, false]],
  );
});

test('register normalises the handle: "  Nick.Tat " is the same profile → 409 profile_exists', async () => {
  const res = await post('/api/profile/register', { handle: '  Nick.Tat ' });
  assert.equal(res.status, 409);
  assert.equal(res.body.error, 'profile_exists');
});

test('a second register of the same handle: 409 profile_exists, files unchanged', async () => {
  const before = await config.snapshot();
  const res = await post('/api/profile/register', { handle: 'nick.tat' });
  assert.equal(res.status, 409);
  assert.equal(res.body.success, false);
  assert.equal(res.body.error, 'profile_exists');
  assert.deepEqual(await config.snapshot(), before);
});

test('the setup worker has no profile of its own to hold credentials', async () => {
  const res = await get('/api/get-credentials');
  assert.equal(res.status, 409);
  assert.equal(res.body.error, 'no_active_profile');
});

test('restarted with BLAZE_PROFILE=nick.tat it runs that profile', async () => {
  const old = worker!;
  old.child.kill('SIGTERM');
  assert.equal((await old.exited()).code, 0);
  await start({ BLAZE_PROFILE: 'nick.tat' });
  const res = await get('/api/profile/current');
  assert.deepEqual(res.body, { success: true, handle: 'nick.tat', has_credentials: true, authenticated: false });
  const health = await get('/healthz');
  assert.equal(health.body.status, 'ok');
  assert.equal(health.body.profile, 'nick.tat');
});

test('save-profile-credentials with the guide\'s exact body stores it', async () => {
  const res = await post('/api/save-profile-credentials', {
    mis_username: 'nick@theartisttree.com',
    mis_password: PASSWORD,
    blaze_api_url: 'https://api.blaze.me',
  });
  assert.equal(res.status, 200, JSON.stringify(res.body));
  assert.equal(res.body.success, true);
  assert.equal(res.body.mis_password_set, true);
  assert.deepEqual(await config.readJson('blaze_configs/blaze_config_nick.tat.json'), {
    mis_username: 'nick@theartisttree.com',
    mis_password: PASSWORD,
    blaze_api_url: 'https://api.blaze.me',
    // the site the password was saved for (the default MIS): it is typed nowhere else
    mis_password_origin: 'https://mis.theartisttree.com',
  });
  assert.equal(await mode(config.file('blaze_configs/blaze_config_nick.tat.json')), 0o600);
});

test('get-credentials shows the username and mis_password_set, never the password', async () => {
  const res = await get('/api/get-credentials');
  assert.equal(res.status, 200);
  assert.equal(res.body.success, true);
  assert.equal(res.body.handle, 'nick.tat');
  assert.equal(res.body.mis_username, 'nick@theartisttree.com');
  assert.equal(res.body.mis_password_set, true);
  assert.equal(res.body.blaze_password_set, false);
  assert.equal(res.body.blaze_api_url, 'https://api.blaze.me');
  assert.equal('mis_password' in res.body, false);
  assert.ok(!JSON.stringify(res.body).includes(PASSWORD));
});

test('switch to another valid profile: {success, requires_restart} and last_profile.json updated', async () => {
  await config.addProfile('other.user');
  assert.deepEqual(await config.readJson('last_profile.json'), { last_profile: 'nick.tat' });
  const res = await post('/api/profile/switch', { handle: 'other.user' });
  assert.equal(res.status, 200, JSON.stringify(res.body));
  assert.equal(res.body.success, true);
  assert.equal(res.body.requires_restart, true);
  assert.equal(res.body.handle, 'other.user');
  assert.deepEqual(await config.readJson('last_profile.json'), { last_profile: 'other.user' });
  // the running worker keeps its profile until restarted
  assert.equal((await get('/api/profile/current')).body.handle, 'nick.tat');
});

test('switch to an unknown profile: 404 profile_not_found, last_profile.json unchanged', async () => {
  const res = await post('/api/profile/switch', { handle: 'nobody.here' });
  assert.equal(res.status, 404);
  assert.equal(res.body.success, false);
  assert.equal(res.body.error, 'profile_not_found');
  assert.deepEqual(await config.readJson('last_profile.json'), { last_profile: 'other.user' });
});

test('switch to a profile with credentials but no token: 404 profile_not_found', async () => {
  await config.addCredentials('creds.only');
  const res = await post('/api/profile/switch', { handle: 'creds.only' });
  assert.equal(res.status, 404);
  assert.equal(res.body.error, 'profile_not_found');
});

test('delete another profile removes its token only', async () => {
  await config.addProfile('old.user');
  await config.writeJson('blaze_configs/blaze_config_old.user.json', { mis_username: 'old' });
  const res = await post('/api/profile/delete', { handle: 'old.user' });
  assert.equal(res.status, 200, JSON.stringify(res.body));
  assert.equal(res.body.success, true);
  assert.equal(await config.exists('tokens/token_old.user.json'), false);
  assert.equal(await config.exists('google_creds/credentials_old.user.json'), true);
  assert.deepEqual(await config.readJson('blaze_configs/blaze_config_old.user.json'), { mis_username: 'old' });
  // the other profiles are untouched
  assert.equal(await config.exists('tokens/token_nick.tat.json'), true);
  assert.equal(await config.exists('tokens/token_other.user.json'), true);
  const list = await get('/api/profiles');
  assert.deepEqual(
    list.body.profiles.filter((p: any) => p.handle === 'old.user').map((p: any) => p.has_credentials),
    [true],
  );
});

test('delete of a profile that has no token: 404 profile_not_found', async () => {
  const res = await post('/api/profile/delete', { handle: 'old.user' });
  assert.equal(res.status, 404);
  assert.equal(res.body.error, 'profile_not_found');
});

test('delete of the worker\'s own profile: 409 cannot_delete_active_profile, nothing removed', async () => {
  const before = await config.snapshot();
  const res = await post('/api/profile/delete', { handle: 'nick.tat' });
  assert.equal(res.status, 409);
  assert.equal(res.body.success, false);
  assert.equal(res.body.error, 'cannot_delete_active_profile');
  assert.deepEqual(await config.snapshot(), before);
});

test('no response body contained the password or the client secret', () => {
  assert.ok(bodies.length > 15);
  for (const body of bodies) {
    assert.ok(!body.includes(PASSWORD), body);
    assert.ok(!body.includes(TEST_CLIENT_SECRET), body);
  }
  for (const w of workers) {
    assert.ok(!w.output().includes(PASSWORD), 'password in the worker log');
    assert.ok(!w.output().includes(TEST_CLIENT_SECRET), 'client secret in the worker log');
  }
});
