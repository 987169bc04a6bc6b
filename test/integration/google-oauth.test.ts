// Google OAuth for one profile against a local fake Google: the web flow round trip,
// single-use state, installed and web client files, a missing credentials file, refreshed tokens written back,
// and a revoked refresh token reported as token_expired_or_revoked.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import { makeConfigDir, TEST_CLIENT_SECRET, type TestConfigDir } from '../helpers/config-dir.ts';
import { startWorker, type RunningWorker } from '../helpers/worker.ts';
import { waitFor } from '../helpers/processes.ts';
import { ResponseRecorder, assertTextHasNoSecrets } from '../helpers/recorder.ts';
import type { Client } from '../helpers/http.ts';
import { clientIdOf, connectGoogle, useFakeGoogle, ORIGINAL_TOKEN_KEYS } from '../helpers/google.ts';
import { startFakeGoogle, SHEETS_SCOPE, type FakeGoogle } from '../fixtures/fake-google.ts';

const SHEET_ID = '1FakeSheetAbCdEfGhIjKlMn';
const mode = async (p: string) => (await fs.stat(p)).mode & 0o777;

const recorder = new ResponseRecorder();
const workers: RunningWorker[] = [];
const configs: TestConfigDir[] = [];
const fakes: FakeGoogle[] = [];

async function setup(options: { kind?: 'installed' | 'web' } = {}) {
  const fake = await startFakeGoogle();
  fakes.push(fake);
  fake.addSpreadsheet(SHEET_ID, { title: 'Daily discounts', sheets: [{ title: 'Discounts', rows: [['SKU', 'Discount'], ['A-100', '15']] }] });
  const config = await makeConfigDir({ profiles: ['nick.tat'] });
  configs.push(config);
  await useFakeGoogle(config, fake, 'nick.tat');
  const worker = await start(config, fake);
  if (options.kind === 'web') {
    // a web client is registered for exactly the worker's redirect URI, as in Cloud Console
    await useFakeGoogle(config, fake, 'nick.tat', { kind: 'web', redirectUris: [`http://localhost:${worker.port}/api/auth/google/callback`] });
  }
  return { fake, config, worker, api: recorder.client(worker.url) };
}
async function start(config: TestConfigDir, fake: FakeGoogle) {
  const w = await startWorker(config.dir, { BLAZE_PROFILE: 'nick.tat', GOOGLE_API_ROOT: fake.url });
  workers.push(w);
  return w;
}
const tokenFile = (config: TestConfigDir) => config.file('tokens', 'token_nick.tat.json');

after(async () => {
  await Promise.all(workers.map((w) => w.kill()));
  const secrets = [TEST_CLIENT_SECRET, ...fakes.flatMap((f) => f.secrets())];
  for (const w of workers) assertTextHasNoSecrets(`worker ${w.pid} log`, w.output(), secrets);
  await Promise.all(fakes.map((f) => f.close()));
  await Promise.all(configs.map((c) => c.remove()));
});

test('round trip: auth_url → consent → callback shows "connected"; the token file replaces the placeholder in the original\'s shape, 0600', async () => {
  const { fake, config, api } = await setup();
  assert.deepEqual(await config.readJson('tokens/token_nick.tat.json'), { placeholder: true, handle: 'nick.tat' });
  assert.equal((await api.get('/api/profile/current')).body.authenticated, false);

  const { page, redirectUri } = await connectGoogle(api, fake);
  assert.equal(page.status, 200, page.text);
  assert.match(page.headers['content-type'] ?? '', /^text\/html/);
  assert.match(page.text, /connected/i);
  assert.match(page.text, /nick\.tat/);
  assert.doesNotMatch(page.text, /not connected/i);

  // the code was exchanged at the credentials file's token_uri, with the same redirect URI
  const exchange = fake.requests.filter((r) => r.path === '/token');
  assert.equal(exchange.length, 1);
  assert.equal(exchange[0]!.status, 200);
  void redirectUri;

  const token = await config.readJson('tokens/token_nick.tat.json');
  assert.deepEqual(Object.keys(token).sort(), ORIGINAL_TOKEN_KEYS);
  assert.equal(token.token, fake.accessTokens[0]);
  assert.equal(token.refresh_token, fake.refreshTokens[0]);
  assert.equal(token.token_uri, fake.tokenUri);
  assert.equal(token.client_id, clientIdOf('nick.tat'));
  assert.equal(token.client_secret, TEST_CLIENT_SECRET);
  assert.deepEqual(token.scopes, [SHEETS_SCOPE]);
  // Python google-auth's naive UTC ISO timestamp, about an hour ahead
  assert.match(token.expiry, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?$/);
  const inMs = Date.parse(`${token.expiry}Z`) - Date.now();
  assert.ok(inMs > 3000_000 && inMs <= 3600_000, `expiry ${token.expiry} is ${inMs} ms away`);
  assert.equal(await mode(tokenFile(config)), 0o600);
  assert.equal(await mode(config.file('tokens')), 0o700);
  assert.deepEqual((await fs.readdir(config.file('tokens'))).sort(), ['token_nick.tat.json']);

  const current = await api.get('/api/profile/current');
  assert.deepEqual(current.body, { success: true, handle: 'nick.tat', has_credentials: true, authenticated: true });
  const list = await api.get('/api/profiles');
  assert.equal(list.body.profiles.find((p: { handle: string }) => p.handle === 'nick.tat').authenticated, true);
  // and the token works: Sheets answers through it
  const sheet = await api.post('/api/mis/load-sheet', { spreadsheet_id: SHEET_ID });
  assert.equal(sheet.status, 200, sheet.text);
  assert.equal((await api.get('/healthz')).body.sheets_connected, true);
});

test('state is single use: the same callback again → 400 invalid_state; unknown or missing state too', async () => {
  const { fake, config, api } = await setup();
  const { callback, page } = await connectGoogle(api, fake);
  assert.equal(page.status, 200);
  const saved = await fs.readFile(tokenFile(config), 'utf8');
  const path = callback.slice(api.base.length);

  const again = await api.get(path, { accept: 'application/json' });
  assert.equal(again.status, 400, again.text);
  assert.equal(again.body.success, false);
  assert.equal(again.body.error, 'invalid_state');
  assert.ok(again.body.message.length > 20);
  const againHtml = await api.get(path, { accept: 'text/html' });
  assert.equal(againHtml.status, 400);
  assert.match(againHtml.headers['content-type'] ?? '', /^text\/html/);
  assert.match(againHtml.text, /not connected/i);

  const forged = new URL(callback);
  forged.searchParams.set('state', 'forged-state-value-0123456789');
  const unknown = await api.get(forged.pathname + forged.search, { accept: 'application/json' });
  assert.equal(unknown.status, 400);
  assert.equal(unknown.body.error, 'invalid_state');
  const noState = await api.get('/api/auth/google/callback?code=abc', { accept: 'application/json' });
  assert.equal(noState.status, 400);
  assert.equal(noState.body.error, 'invalid_state');
  const denied = await api.get('/api/auth/google/callback?error=access_denied', { accept: 'application/json' });
  assert.equal(denied.status, 400);
  assert.equal(denied.body.success, false);

  // none of that touched the token, and only one code was ever exchanged
  assert.equal(await fs.readFile(tokenFile(config), 'utf8'), saved);
  assert.equal(fake.requests.filter((r) => r.path === '/token').length, 1);
});

test('a `web` client file works the same way', async () => {
  const { fake, config, api } = await setup({ kind: 'web' });
  assert.ok('web' in (await config.readJson('google_creds/credentials_nick.tat.json')));
  const { page } = await connectGoogle(api, fake);
  assert.equal(page.status, 200, page.text);
  assert.match(page.text, /connected/i);
  const token = await config.readJson('tokens/token_nick.tat.json');
  assert.equal(token.token, fake.accessTokens[0]);
  assert.equal(token.client_id, clientIdOf('nick.tat'));
});

test('no credentials file: 404 credentials_not_found with expected_path; an unusable one is named too', async () => {
  const { config, api } = await setup();
  await fs.rm(config.file('google_creds', 'credentials_nick.tat.json'));
  const missing = await api.post('/api/auth/google');
  assert.equal(missing.status, 404, missing.text);
  assert.equal(missing.body.success, false);
  assert.equal(missing.body.error, 'credentials_not_found');
  assert.equal(missing.body.expected_path, 'google_creds/credentials_nick.tat.json');
  assert.match(missing.body.message, /google_creds\/credentials_nick\.tat\.json/);

  await config.writeJson('google_creds/credentials_nick.tat.json', { something: { client_id: 'x' } });
  const unusable = await api.post('/api/auth/google');
  assert.ok(unusable.status >= 400 && unusable.status < 500, unusable.text);
  assert.equal(unusable.body.error, 'credentials_not_found');
  assert.equal(unusable.body.expected_path, 'google_creds/credentials_nick.tat.json');
  assert.deepEqual(await config.readJson('tokens/token_nick.tat.json'), { placeholder: true, handle: 'nick.tat' });
});

test('access tokens expire at Google: the worker refreshes, retries, and writes the new token back', async () => {
  const { fake, config, api } = await setup();
  await connectGoogle(api, fake);
  assert.equal((await api.post('/api/mis/load-sheet', { spreadsheet_id: SHEET_ID })).status, 200);
  const before = await config.readJson('tokens/token_nick.tat.json');

  fake.expireAccessTokens();
  const values = await api.get('/api/sheets/values?tab=Discounts&range=A1:B2');
  assert.equal(values.status, 200, values.text);
  assert.deepEqual(values.body.values, [['SKU', 'Discount'], ['A-100', '15']]);
  assert.equal(fake.refreshCount, 1);
  const fresh = fake.accessTokens.at(-1)!;
  assert.notEqual(fresh, before.token);

  const after = await waitFor('the refreshed token in the token file', async () => {
    const t = await config.readJson('tokens/token_nick.tat.json');
    return t.token === fresh ? t : null;
  });
  assert.deepEqual(Object.keys(after).sort(), ORIGINAL_TOKEN_KEYS);
  assert.equal(after.refresh_token, before.refresh_token);
  assert.equal(after.client_secret, TEST_CLIENT_SECRET);
  assert.equal(after.token_uri, fake.tokenUri);
  assert.deepEqual(after.scopes, [SHEETS_SCOPE]);
  assert.equal(await mode(tokenFile(config)), 0o600);
  // the next call uses the new token without refreshing again
  assert.equal((await api.get('/api/sheets/values?tab=Discounts')).status, 200);
  assert.equal(fake.refreshCount, 1);
});

test('a token file whose access token expired (google-auth-library shape) is refreshed on use and rewritten in the original\'s shape', async () => {
  const { fake, config, worker, api } = await setup();
  await connectGoogle(api, fake);
  const { refresh_token: refreshToken } = await config.readJson('tokens/token_nick.tat.json');
  worker.child.kill('SIGTERM');
  await worker.exited();
  await config.writeJson('tokens/token_nick.tat.json', {
    access_token: 'ya29.long-expired-access-token',
    refresh_token: refreshToken,
    expiry_date: Date.now() - 3600_000,
    scope: SHEETS_SCOPE,
    token_type: 'Bearer',
  });
  const restarted = await start(config, fake);
  const api2 = recorder.client(restarted.url);
  assert.equal((await api2.get('/api/profile/current')).body.authenticated, true);
  const sheet = await api2.post('/api/mis/load-sheet', { spreadsheet_id: SHEET_ID });
  assert.equal(sheet.status, 200, sheet.text);
  assert.equal(fake.refreshCount, 1);
  const fresh = fake.accessTokens.at(-1)!;
  const written = await waitFor('the refreshed token in the token file', async () => {
    const t = await config.readJson('tokens/token_nick.tat.json');
    return t.token === fresh ? t : null;
  });
  assert.deepEqual(Object.keys(written).sort(), ORIGINAL_TOKEN_KEYS);
  assert.equal(written.refresh_token, refreshToken);
  assert.equal(written.client_id, clientIdOf('nick.tat'));
  assert.ok(Date.parse(`${written.expiry}Z`) > Date.now() + 3000_000);
});

test('a revoked refresh token: 401 token_expired_or_revoked with the fix; connecting again repairs it', async () => {
  const { fake, config, api } = await setup();
  await connectGoogle(api, fake);
  assert.equal((await api.post('/api/mis/load-sheet', { spreadsheet_id: SHEET_ID })).status, 200);
  fake.revoke(fake.refreshTokens[0]!);
  fake.expireAccessTokens();

  const refused = await api.get('/api/sheets/values?tab=Discounts');
  assert.equal(refused.status, 401, refused.text);
  assert.equal(refused.body.success, false);
  assert.equal(refused.body.error, 'token_expired_or_revoked');
  assert.match(refused.body.message, /POST \/api\/auth\/google/);
  assert.ok(fake.refusedRefreshCount >= 1);
  const load = await api.post('/api/mis/load-sheet', { spreadsheet_id: SHEET_ID });
  assert.equal(load.status, 401);
  assert.equal(load.body.error, 'token_expired_or_revoked');
  // the revoked token stays on disk for a person to see (nothing pretends it worked)
  assert.equal((await config.readJson('tokens/token_nick.tat.json')).refresh_token, fake.refreshTokens[0]);

  const { page } = await connectGoogle(api, fake);
  assert.equal(page.status, 200);
  const values = await api.get('/api/sheets/values?tab=Discounts');
  assert.equal(values.status, 200, values.text);
  assert.equal((await config.readJson('tokens/token_nick.tat.json')).refresh_token, fake.refreshTokens[1]);
});

test('no response carried a secret (client secret, access or refresh tokens)', () => {
  recorder.assertNoSecrets([TEST_CLIENT_SECRET, ...fakes.flatMap((f) => f.secrets())]);
});
