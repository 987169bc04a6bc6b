// First-run mode and the guide's curl commands against the supervisor: the guide's curl
// commands work unchanged against http://localhost:5000. Bodies and headers are the guide's, byte for byte.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startSupervisor } from '../helpers/supervisor.ts';
import { isAlive, waitFor } from '../helpers/processes.ts';

const JSON_HEADERS = { 'Content-Type': 'application/json' };

test('first run: register through /api, then every guide command works unchanged', async (t) => {
  const sup = await startSupervisor(); // empty config dir
  t.after(() => sup.cleanup());

  // first-run mode: one setup worker serves /api
  const setup = await waitFor('the setup worker', async () => (await sup.workers()).find((w) => w.handle === null && w.state === 'ready'));
  const first = await sup.get('/api/profile/current');
  assert.equal(first.status, 200, first.text);
  assert.equal(first.body.handle, null);

  // Step 1 of the guide: the credentials file; Step 2: register
  await sup.config.addCredentials('nick.tat');
  const registered = performance.now();
  const register = await sup.request('POST', '/api/profile/register', { headers: JSON_HEADERS, body: '{"handle": "nick.tat"}' });
  assert.equal(register.status, 201, register.text);
  assert.equal(register.body.success, true);
  assert.equal(register.body.url, '/p/nick.tat/');

  // Within 2 s the supervisor has started a worker for the handle and points /api at it. (On an idle machine
  // it is also ready within 2 s; its own start-up time under load is not the supervisor's, so readiness gets
  // a wider bound.)
  await sup.waitForStarted('nick.tat', 2000);
  await waitFor('/api to point at nick.tat', async () => (await sup.current()) === 'nick.tat', Math.max(100, 2000 - (performance.now() - registered)));
  const ready = await sup.waitForState('nick.tat', 'ready', 15_000);
  assert.ok(ready.pid);
  const current = await sup.get('/api/profile/current');
  assert.equal(current.status, 200);
  assert.equal(current.body.handle, 'nick.tat');
  const p = await sup.get('/p/nick.tat/api/profile/current');
  assert.equal(p.body.handle, 'nick.tat');
  // first-run mode is over: the setup worker is gone
  await waitFor('the setup worker to stop', async () => !(await sup.workers()).some((w) => w.handle === null) && !isAlive(setup.pid!), 5000);

  // Step 4: save MIS/Blaze credentials (the guide's body, blaze_api_url included)
  const save = await sup.request('POST', '/api/save-profile-credentials', {
    headers: JSON_HEADERS,
    body: `{
    "mis_username": "nick@theartisttree.com",
    "mis_password": "yourpassword",
    "blaze_api_url": "https://api.blaze.me"
  }`,
  });
  assert.equal(save.status, 200, save.text);
  assert.equal(save.body.handle, 'nick.tat');
  assert.doesNotMatch(save.text, /yourpassword/);
  const creds = await sup.get('/api/get-credentials');
  assert.equal(creds.body.mis_username, 'nick@theartisttree.com');
  assert.equal(creds.body.mis_password_set, true);
  assert.doesNotMatch(creds.text, /yourpassword/);

  // Switch: to another registered profile; the supervisor carries the restart out
  await sup.config.addProfile('other.user');
  await sup.waitForState('other.user', 'ready', 15_000);
  const switched = await sup.request('POST', '/api/profile/switch', { headers: JSON_HEADERS, body: '{"handle": "other.user"}' });
  assert.equal(switched.status, 200, switched.text);
  assert.equal(switched.body.success, true);
  assert.equal(switched.body.requires_restart, true);
  await waitFor('/api to point at other.user', async () => (await sup.current()) === 'other.user', 2000);
  assert.equal((await sup.get('/api/profile/current')).body.handle, 'other.user'); // held while it recycles

  // Delete: removes the token file only, and the supervisor stops that profile's worker
  await sup.config.addProfile('old.user');
  const old = await sup.waitForState('old.user', 'ready', 15_000);
  const deleted = await sup.request('POST', '/api/profile/delete', { headers: JSON_HEADERS, body: '{"handle": "old.user"}' });
  assert.equal(deleted.status, 200, deleted.text);
  assert.equal(deleted.body.success, true);
  assert.equal(await sup.config.exists('tokens/token_old.user.json'), false);
  assert.equal(await sup.config.exists('google_creds/credentials_old.user.json'), true);
  await waitFor('the old.user worker to go', async () => !(await sup.worker('old.user')) && !isAlive(old.pid!), 2000);
});
