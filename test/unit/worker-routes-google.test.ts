// The worker's Google routes (worker/web/routes/{auth,sheets}.ts and the spreadsheet load of mis.ts), in this
// process, where Google is never reached: the OAuth link made locally, the callback's refusals (Google said no,
// no code or state, a state unknown, used or cancelled), a token endpoint that cannot be reached, the
// credentials file missing or damaged, a profile not connected yet — and no answer that holds the client
// secret.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import net from 'node:net';
import { makeConfigDir, TEST_CLIENT_SECRET, type TestConfigDir } from '../helpers/config-dir.ts';
import { inProcessWorker, serve, type InProcessWorker, type Served, recordingAnswers } from '../helpers/in-process.ts';

const SPREADSHEET = '1AbCdEfGhIjKlMnOpQrStUvWxYz0123456789';
const REDIRECT = 'http://localhost:5000/api/auth/google/callback';

async function setup(t: TestContext): Promise<{ config: TestConfigDir; worker: InProcessWorker; http: Served; googlePort: number }> {
  // Google, for anything that would reach it: a loopback listener that drops every connection (the token
  // endpoint of the client file, and GOOGLE_API_ROOT).
  const dropper = net.createServer((socket) => socket.destroy());
  await new Promise<void>((resolve) => dropper.listen(0, '127.0.0.1', resolve));
  const googlePort = (dropper.address() as net.AddressInfo).port;
  const config = await makeConfigDir({ profiles: ['a'] });
  await config.addCredentials('a', { token_uri: `http://127.0.0.1:${googlePort}/token` });
  const worker = await inProcessWorker(config.dir, 'a', { GOOGLE_API_ROOT: `http://127.0.0.1:${googlePort}/` });
  const served = await serve(worker.app);
  const { http, answers } = recordingAnswers(served);
  t.after(async () => {
    await served.close();
    await new Promise<void>((resolve) => dropper.close(() => resolve()));
    await config.remove();
    for (const answer of answers) assert.ok(!answer.includes(TEST_CLIENT_SECRET), `an answer holds the client secret: ${answer.slice(0, 300)}`);
  });
  return { config, worker, http, googlePort };
}

/** Begins the sign-in: the link and its `state`. */
async function begin(http: Served): Promise<{ url: URL; state: string }> {
  const reply = await http.request('POST', '/api/auth/google');
  assert.equal(reply.status, 200, reply.text);
  const url = new URL(reply.json.auth_url);
  return { url, state: url.searchParams.get('state')! };
}

test('POST /api/auth/google: the consent link, made here, with a fresh state; the sign-in is work the page follows', async (t) => {
  const { http } = await setup(t);
  const reply = await http.request('POST', '/api/auth/google');
  assert.equal(reply.status, 200, reply.text);
  assert.equal(reply.json.success, true);
  assert.equal(reply.json.redirect_uri, REDIRECT);
  const url = new URL(reply.json.auth_url);
  assert.equal(`${url.origin}${url.pathname}`, 'https://accounts.google.com/o/oauth2/auth');
  assert.equal(url.searchParams.get('client_id'), 'a.apps.googleusercontent.com');
  assert.equal(url.searchParams.get('redirect_uri'), REDIRECT);
  assert.equal(url.searchParams.get('access_type'), 'offline');
  assert.equal(url.searchParams.get('scope'), 'https://www.googleapis.com/auth/spreadsheets');
  assert.match(url.searchParams.get('state')!, /^[A-Za-z0-9_-]{32}$/);

  const work = (await http.request('GET', '/api/work')).json.work;
  assert.equal(work.length, 1);
  assert.deepEqual([work[0].name, work[0].stage, work[0].cancellable], ['google-connect', 'waiting for you to allow access in the Google tab', true]);
  // a second link: a new state, the same piece of work
  const second = await begin(http);
  assert.notEqual(second.state, url.searchParams.get('state'));
  assert.equal((await http.request('GET', '/api/work')).json.work.length, 1);
});

test('the callback refuses what Google did not grant, a missing code or state, and a state it did not make', async (t) => {
  const { http } = await setup(t);
  const { state } = await begin(http);
  const cases: [string, number, string][] = [
    ['?code=x', 400, 'invalid_state'],
    [`?state=${state}`, 400, 'invalid_state'],
    ['', 400, 'invalid_state'],
    ['?code=x&state=made-up', 400, 'invalid_state'],
    ['?code=x&state=a&state=b', 400, 'invalid_state'],
  ];
  for (const [query, status, code] of cases) {
    const reply = await http.request('GET', `/api/auth/google/callback${query}`);
    assert.equal(reply.status, status, query);
    assert.equal(reply.json.error, code, query);
  }
  // a refused answer ends the sign-in under way (the page offers to start again)
  assert.deepEqual((await http.request('GET', '/api/work')).json.work, []);
  // Google saying no is not_authenticated; a browser gets a page saying so
  await begin(http);
  const denied = await http.request('GET', '/api/auth/google/callback?error=access_denied', { headers: { accept: 'text/html' } });
  assert.equal(denied.status, 400);
  assert.match(String(denied.headers['content-type']), /^text\/html/);
  assert.match(denied.text, /Google account not connected/);
  assert.match(denied.text, /access_denied/);
  const json = await http.request('GET', '/api/auth/google/callback?error=access_denied');
  assert.equal(json.status, 400);
  assert.equal(json.json.error, 'not_authenticated');
});

test('a cancelled sign-in: its link no longer works', async (t) => {
  const { http } = await setup(t);
  const { state } = await begin(http);
  const cancelled = await http.request('POST', '/api/work/cancel', { json: { name: 'google-connect' } });
  assert.equal(cancelled.status, 200, cancelled.text);
  assert.equal(cancelled.json.cancelled.name, 'google-connect');
  assert.deepEqual((await http.request('GET', '/api/work')).json.work, []);
  const late = await http.request('GET', `/api/auth/google/callback?code=4/abc&state=${state}`);
  assert.equal(late.status, 400);
  assert.equal(late.json.error, 'invalid_state');
});

test('a token endpoint that cannot be reached: 502 google_unreachable, and the same answer may be tried again', async (t) => {
  const { config, http, googlePort: port } = await setup(t);
  const { state } = await begin(http);
  const reply = await http.request('GET', `/api/auth/google/callback?code=4/abc&state=${state}`);
  assert.equal(reply.status, 502, reply.text);
  assert.equal(reply.json.error, 'google_unreachable');
  assert.equal(reply.json.host, `127.0.0.1:${port}`);
  const work = (await http.request('GET', '/api/work')).json.work;
  assert.equal(work.length, 1, 'the sign-in is still under way');
  assert.match(work[0].stage, /Google could not be reached/);
  const again = await http.request('GET', `/api/auth/google/callback?code=4/abc&state=${state}`);
  assert.equal(again.json.error, 'google_unreachable', 'the state was kept for the retry');
  assert.deepEqual(await config.readJson('tokens/token_a.json'), { placeholder: true, handle: 'a' }, 'no token written');
});

test('the OAuth client file missing (404) or damaged (422): credentials_not_found with where it must be', async (t) => {
  const { config, http } = await setup(t);
  await fs.rm(config.file('google_creds', 'credentials_a.json'));
  const missing = await http.request('POST', '/api/auth/google');
  assert.equal(missing.status, 404);
  assert.equal(missing.json.error, 'credentials_not_found');
  assert.equal(missing.json.expected_path, 'google_creds/credentials_a.json');
  await config.writeJson('google_creds/credentials_a.json', { installed: { client_id: 'x' } });
  const damaged = await http.request('POST', '/api/auth/google');
  assert.equal(damaged.status, 422);
  assert.equal(damaged.json.error, 'credentials_not_found');
  assert.equal(damaged.json.expected_path, 'google_creds/credentials_a.json');
  assert.deepEqual((await http.request('GET', '/api/work')).json.work, [], 'no sign-in begun');
});

test('POST /api/mis/load-sheet: a spreadsheet id or URL; a profile not connected to Google is 409 not_authenticated', async (t) => {
  const { config, worker, http } = await setup(t);
  const cases: [{ headers?: Record<string, string>; body?: string; json?: unknown }, number, string][] = [
    [{ json: {} }, 400, 'invalid_body'],
    [{ json: { spreadsheet_id: 'short' } }, 400, 'invalid_body'],
    [{ json: { url: 'https://example.com/not-a-sheet' } }, 400, 'invalid_body'],
    [{ json: { spreadsheet_id: 'x'.repeat(2049) } }, 400, 'invalid_body'],
    [{ json: { spreadsheet_id: 12345678901 } }, 400, 'invalid_body'],
    [{ headers: { 'content-type': 'application/json' }, body: '{"url":' }, 400, 'invalid_json'],
    [{ headers: { 'content-type': 'text/plain' }, body: '{}' }, 415, 'unsupported_media_type'],
    [{ body: `{"spreadsheet_id":"${SPREADSHEET}"}` }, 415, 'unsupported_media_type'],
  ];
  for (const [options, status, code] of cases) {
    const reply = await http.request('POST', '/api/mis/load-sheet', options);
    assert.equal(reply.status, status, JSON.stringify(options).slice(0, 120));
    assert.equal(reply.json.error, code, JSON.stringify(options).slice(0, 120));
  }
  for (const json of [{ spreadsheet_id: SPREADSHEET }, { url: `https://docs.google.com/spreadsheets/d/${SPREADSHEET}/edit#gid=0` }]) {
    const reply = await http.request('POST', '/api/mis/load-sheet', { json });
    assert.equal(reply.status, 409, reply.text);
    assert.equal(reply.json.error, 'not_authenticated');
    assert.match(reply.json.message, /not connected yet/);
  }
  // a token file that cannot be read says so
  await fs.writeFile(config.file('tokens', 'token_a.json'), '{"token": ');
  const unreadable = await http.request('POST', '/api/mis/load-sheet', { json: { spreadsheet_id: SPREADSHEET } });
  assert.equal(unreadable.status, 409);
  assert.equal(unreadable.json.error, 'not_authenticated');
  assert.match(unreadable.json.message, /unreadable/);
  assert.equal(await worker.deps.session.work.get('spreadsheet'), undefined);
  assert.deepEqual((await http.request('GET', '/api/work')).json.work, []);
});

test('GET /api/sheets and /api/sheets/values: the spreadsheet loaded last, the tab and range checked before Google', async (t) => {
  const { worker, http } = await setup(t);
  const none = await http.request('GET', '/api/sheets');
  assert.equal(none.status, 404);
  assert.equal(none.json.error, 'not_found');
  const noSheet = await http.request('GET', '/api/sheets/values?tab=Prices');
  assert.equal(noSheet.status, 409);
  assert.equal(noSheet.json.error, 'invalid_state');

  const loaded = { spreadsheet_id: SPREADSHEET, title: 'Prices', tabs: [{ title: 'Prices', index: 0, rows: 10, columns: 4 }], loaded_at: '2026-01-01T00:00:00.000Z' };
  await worker.deps.session.work.set('spreadsheet', loaded);
  const shown = await http.request('GET', '/api/sheets');
  assert.equal(shown.status, 200);
  assert.deepEqual(shown.json, { success: true, ...loaded });

  for (const query of ['', '?tab=', `?tab=${'x'.repeat(201)}`, '?range=A1:B2', '?tab=P&range=A1;DROP', '?tab=P&range=ZZZZ1', '?tab=P&range=A1:B2:C3', '?tab=a&tab=b']) {
    const reply = await http.request('GET', `/api/sheets/values${query}`);
    assert.equal(reply.status, 400, query);
    assert.equal(reply.json.error, 'invalid_body', query);
  }
  for (const query of ['?tab=Prices', '?tab=Prices&range=A1:D10', `?tab=Prices&spreadsheet_id=${SPREADSHEET}`]) {
    const reply = await http.request('GET', `/api/sheets/values${query}`);
    assert.equal(reply.status, 409, query);
    assert.equal(reply.json.error, 'not_authenticated', query);
  }
});
