// The worker's MIS / Blaze credentials routes (worker/web/routes/credentials.ts), in this process: what is
// saved and shown (passwords go in, never out), the validation of each field, a password kept with the site
// it was saved for (409 password_required when the URL moves to another origin without it), a damaged file
// never saved over, and the setup worker that has no profile.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import { makeConfigDir, TEST_CLIENT_SECRET, type TestConfigDir } from '../helpers/config-dir.ts';
import { inProcessWorker, serve, type Served, recordingAnswers } from '../helpers/in-process.ts';

const MIS_PASSWORD = 'mis-Secret-pass-41';
const BLAZE_PASSWORD = 'blaze-Secret-pass-42';
const DEFAULT_MIS = 'https://mis.theartisttree.com/daily-discount';
const BLAZE_FILE = 'blaze_configs/blaze_config_a.json';

async function setup(t: TestContext, env: Record<string, string> = {}): Promise<{ config: TestConfigDir; http: Served; answers: string[] }> {
  const config = await makeConfigDir({ profiles: ['a'] });
  const worker = await inProcessWorker(config.dir, 'a', env);
  const served = await serve(worker.app);
  t.after(async () => {
    await served.close();
    await config.remove();
  });
  // Every answer, for the check that none holds a secret.
  const { http, answers } = recordingAnswers(served);
  t.after(() => {
    for (const answer of answers) {
      for (const secret of [MIS_PASSWORD, BLAZE_PASSWORD, 'another-Mis-pass-7', TEST_CLIENT_SECRET]) assert.ok(!answer.includes(secret), `an answer holds a secret: ${answer.slice(0, 300)}`);
    }
  });
  return { config, http, answers };
}

test('GET /api/get-credentials of a profile with none saved: empty, the effective URLs from the settings', async (t) => {
  const { config, http } = await setup(t, { BLAZE_API_URL: 'https://blaze.example.com' });
  const reply = await http.request('GET', '/api/get-credentials');
  assert.equal(reply.status, 200);
  assert.deepEqual(reply.json, {
    success: true,
    handle: 'a',
    mis_password_set: false,
    blaze_password_set: false,
    effective_mis_url: DEFAULT_MIS,
    effective_blaze_api_url: 'https://blaze.example.com',
    file: { file: config.file(BLAZE_FILE), state: 'missing', reason: null, fix: null },
  });
});

test('POST /api/save-profile-credentials saves, answers the fields without the passwords, and keeps each password with its origin', async (t) => {
  const { config, http } = await setup(t);
  const saved = await http.request('POST', '/api/save-profile-credentials', {
    json: { mis_username: 'lisa@theartisttree.com', mis_password: MIS_PASSWORD, blaze_email: 'lisa@blaze.me', blaze_password: BLAZE_PASSWORD, google_sheet_url: 'https://docs.google.com/spreadsheets/d/abc/edit' },
  });
  assert.equal(saved.status, 200, saved.text);
  assert.deepEqual(saved.json, {
    success: true,
    handle: 'a',
    saved_fields: ['mis_username', 'mis_password', 'blaze_email', 'blaze_password', 'google_sheet_url'],
    mis_username: 'lisa@theartisttree.com',
    blaze_email: 'lisa@blaze.me',
    google_sheet_url: 'https://docs.google.com/spreadsheets/d/abc/edit',
    mis_password_set: true,
    blaze_password_set: true,
  });
  const stored = await config.readJson(BLAZE_FILE);
  assert.equal(stored.mis_password, MIS_PASSWORD, 'the password is kept for Chrome to type');
  assert.equal(stored.mis_password_origin, 'https://mis.theartisttree.com');
  assert.equal(stored.blaze_password_origin, 'https://api.blaze.me');
  assert.equal((await fs.stat(config.file(BLAZE_FILE))).mode & 0o777, 0o600);

  const shown = await http.request('GET', '/api/get-credentials');
  assert.equal(shown.status, 200);
  assert.equal(shown.json.mis_username, 'lisa@theartisttree.com');
  assert.equal(shown.json.mis_password_set, true);
  assert.equal(shown.json.blaze_password_set, true);
  assert.equal(shown.json.file.state, 'ok');
  for (const hidden of ['mis_password', 'blaze_password', 'mis_password_origin', 'blaze_password_origin']) assert.equal(hidden in shown.json, false, hidden);

  // a later save merges: the password stays; an empty password removes it and its origin
  const merged = await http.request('POST', '/api/save-profile-credentials', { json: { mis_username: 'lisa2@theartisttree.com' } });
  assert.deepEqual([merged.status, merged.json.saved_fields, merged.json.mis_password_set], [200, ['mis_username'], true]);
  const cleared = await http.request('POST', '/api/save-profile-credentials', { json: { blaze_password: '' } });
  assert.deepEqual([cleared.status, cleared.json.blaze_password_set], [200, false]);
  const after = await config.readJson(BLAZE_FILE);
  assert.equal(after.blaze_password, '');
  assert.equal('blaze_password_origin' in after, false);
  assert.equal(after.mis_password, MIS_PASSWORD);
});

test('moving the MIS URL to another origin needs the MIS password again: 409 password_required, nothing changed', async (t) => {
  const { config, http } = await setup(t);
  await http.request('POST', '/api/save-profile-credentials', { json: { mis_username: 'lisa', mis_password: MIS_PASSWORD } });
  const before = await fs.readFile(config.file(BLAZE_FILE), 'utf8');

  for (const mis_url of ['https://evil.example.com/daily-discount', 'http://mis.theartisttree.com/daily-discount', 'https://mis.theartisttree.com:8443/daily-discount']) {
    const refused = await http.request('POST', '/api/save-profile-credentials', { json: { mis_url } });
    assert.equal(refused.status, 409, mis_url);
    assert.equal(refused.json.error, 'password_required', mis_url);
    assert.equal(refused.json.field, 'mis_password', mis_url);
    // ... also when other fields come along
    const withOthers = await http.request('POST', '/api/save-profile-credentials', { json: { mis_url, mis_username: 'mallory' } });
    assert.equal(withOthers.status, 409);
  }
  assert.equal(await fs.readFile(config.file(BLAZE_FILE), 'utf8'), before, 'the file is unchanged');

  // another page of the same origin: no password needed
  const samePlace = await http.request('POST', '/api/save-profile-credentials', { json: { mis_url: 'https://mis.theartisttree.com/other-page' } });
  assert.equal(samePlace.status, 200, samePlace.text);
  // another origin with the password: accepted, and the password now belongs to it
  const moved = await http.request('POST', '/api/save-profile-credentials', { json: { mis_url: 'https://mis2.example.com/', mis_password: 'another-Mis-pass-7' } });
  assert.equal(moved.status, 200, moved.text);
  assert.equal(moved.json.mis_url, 'https://mis2.example.com/');
  assert.equal((await config.readJson(BLAZE_FILE)).mis_password_origin, 'https://mis2.example.com');
  // and moving back needs it again
  const back = await http.request('POST', '/api/save-profile-credentials', { json: { mis_url: '' } });
  assert.equal(back.status, 409);
  assert.equal(back.json.error, 'password_required');
});

test('the same for the Blaze password and blaze_api_url', async (t) => {
  const { http } = await setup(t);
  await http.request('POST', '/api/save-profile-credentials', { json: { blaze_email: 'x@blaze.me', blaze_password: BLAZE_PASSWORD } });
  const refused = await http.request('POST', '/api/save-profile-credentials', { json: { blaze_api_url: 'https://api.evil.example.com' } });
  assert.equal(refused.status, 409);
  assert.equal(refused.json.error, 'password_required');
  assert.equal(refused.json.field, 'blaze_password');
  // without a saved Blaze password, the URL may move freely
  const { http: fresh } = await setup(t);
  assert.equal((await fresh.request('POST', '/api/save-profile-credentials', { json: { blaze_api_url: 'https://api.evil.example.com' } })).status, 200);
});

test('each field is validated: unknown fields, the origins, control characters, URLs with a password, lengths', async (t) => {
  const { config, http } = await setup(t);
  const invalid: Record<string, unknown>[] = [
    { mis_pasword: 'typo' },
    { mis_password_origin: 'https://evil.example.com' },
    { blaze_password_origin: 'https://evil.example.com' },
    { mis_username: 'line\nbreak' },
    { mis_password: 'tab\there' },
    { mis_url: 'https://user:pass@mis.example.com/' },
    { mis_url: 'ftp://mis.example.com/' },
    { mis_url: 'not a url' },
    { blaze_api_url: 'javascript:alert(1)' },
    { mis_username: 'x'.repeat(321) },
    { mis_password: 'x'.repeat(1025) },
    { mis_username: 42 },
  ];
  for (const body of invalid) {
    const reply = await http.request('POST', '/api/save-profile-credentials', { json: body });
    assert.equal(reply.status, 400, JSON.stringify(body).slice(0, 80));
    assert.equal(reply.json.error, 'invalid_body', JSON.stringify(body).slice(0, 80));
    assert.ok(Array.isArray(reply.json.issues), 'the issues are listed');
  }
  const bodies: [string, { headers?: Record<string, string>; body?: string }, number, string][] = [
    ['malformed', { headers: { 'content-type': 'application/json' }, body: '{"mis_username":' }, 400, 'invalid_json'],
    ['duplicate', { headers: { 'content-type': 'application/json' }, body: '{"mis_url":"https://a.example.com","mis_url":"https://b.example.com"}' }, 400, 'invalid_json'],
    ['a form', { headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'mis_username=x' }, 415, 'unsupported_media_type'],
    ['no type', { body: '{}' }, 415, 'unsupported_media_type'],
    ['over 1 MiB', { headers: { 'content-type': 'application/json' }, body: JSON.stringify({ mis_username: 'x'.repeat(1024 * 1024 + 10) }) }, 413, 'payload_too_large'],
  ];
  for (const [what, options, status, code] of bodies) {
    const reply = await http.request('POST', '/api/save-profile-credentials', options);
    assert.equal(reply.status, status, what);
    assert.equal(reply.json.error, code, what);
  }
  assert.equal(await config.exists(BLAZE_FILE), false, 'nothing refused was written');
  // every field at its longest is fine
  const longest = await http.request('POST', '/api/save-profile-credentials', { json: { mis_username: 'x'.repeat(320), mis_password: 'p'.repeat(1024), mis_url: '' } });
  assert.equal(longest.status, 200, longest.text);
});

test('a damaged settings file is never saved over: 409 corrupt_file, then replaced on purpose with the damaged one kept', async (t) => {
  const { config, http } = await setup(t);
  await fs.mkdir(config.file('blaze_configs'), { recursive: true });
  await fs.writeFile(config.file(BLAZE_FILE), `{"mis_password": "${MIS_PASSWORD}", `);

  const shown = await http.request('GET', '/api/get-credentials');
  assert.equal(shown.status, 200);
  assert.equal(shown.json.file.state, 'damaged');
  assert.equal(shown.json.mis_password_set, false, 'a damaged file reads as empty');

  const refused = await http.request('POST', '/api/save-profile-credentials', { json: { mis_username: 'lisa' } });
  assert.equal(refused.status, 409);
  assert.equal(refused.json.error, 'corrupt_file');
  assert.equal(refused.json.file, BLAZE_FILE);
  assert.equal(await fs.readFile(config.file(BLAZE_FILE), 'utf8'), `{"mis_password": "${MIS_PASSWORD}", `);

  const replaced = await http.request('POST', '/api/blaze-config/replace-damaged');
  assert.equal(replaced.status, 200, replaced.text);
  assert.match(replaced.json.kept, /blaze_config_a\.json\.damaged-\d{8}T\d+Z$/);
  assert.equal(await fs.readFile(replaced.json.kept, 'utf8'), `{"mis_password": "${MIS_PASSWORD}", `, 'the damaged file is kept');
  assert.deepEqual(await config.readJson(BLAZE_FILE), {});

  const notDamaged = await http.request('POST', '/api/blaze-config/replace-damaged');
  assert.equal(notDamaged.status, 409);
  assert.equal(notDamaged.json.error, 'invalid_state');
  assert.equal((await http.request('POST', '/api/save-profile-credentials', { json: { mis_username: 'lisa' } })).status, 200);
});

test('the setup worker has no profile: 409 no_active_profile on every credentials route', async (t) => {
  const config = await makeConfigDir();
  const worker = await inProcessWorker(config.dir, null);
  const http = await serve(worker.app);
  t.after(async () => {
    await http.close();
    await config.remove();
  });
  for (const [method, path, json] of [
    ['GET', '/api/get-credentials', undefined],
    ['POST', '/api/save-profile-credentials', { mis_username: 'x' }],
    ['POST', '/api/blaze-config/replace-damaged', undefined],
  ] as const) {
    const reply = await http.request(method, path, json ? { json } : {});
    assert.equal(reply.status, 409, path);
    assert.equal(reply.json.error, 'no_active_profile', path);
  }
  assert.equal(await config.exists('blaze_configs'), false);
});
