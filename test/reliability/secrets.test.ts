// Secrets: a whole session with real secrets in play — Google connected through a fake Google (the
// OAuth web flow through the supervisor, Sheets reads, an access token refreshed, a refresh token revoked),
// MIS and Blaze passwords saved, SUPERVISOR_TOKEN in use, a corrupt token file, bad input echoing nothing —
// then every response body and header the suite received and every log line the supervisor and its workers
// wrote (debug level) are searched for any password, client secret, access token or refresh token.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import { makeConfigDir } from '../helpers/config-dir.ts';
import { useFakeGoogle } from '../helpers/google.ts';
import { startSupervisor } from '../helpers/supervisor.ts';
import { startFakeGoogle } from '../fixtures/fake-google.ts';
import { Evidence } from '../helpers/evidence.ts';
import { SECRETS, blazeConfigWithSecrets, realTokenFile } from '../helpers/secrets.ts';
import { client, requestUrl } from '../helpers/http.ts';

const SHEET_ID = '1BxiMVs0XRA5nFMdKvBdBZjgmUUqptlbs74OgvE2upms';

test('no password, client secret, access or refresh token in any response or log line', async (t) => {
  const ev = new Evidence();
  const fake = await startFakeGoogle();
  fake.addSpreadsheet(SHEET_ID, { title: 'Discounts', sheets: [{ title: 'Week', rows: [['SKU', 'Discount'], ['A-100', '15']] }] });
  const config = await makeConfigDir({ profiles: ['g', 'other', 'broken'] });
  await useFakeGoogle(config, fake, 'g');
  await config.writeJson('tokens/token_other.json', realTokenFile('other'));
  await config.writeJson('blaze_configs/blaze_config_other.json', blazeConfigWithSecrets('other@mis.example'));
  // a half-written token file holding the tokens
  await fs.writeFile(config.file('tokens', 'token_broken.json'), JSON.stringify(realTokenFile('broken')).slice(0, 70));
  const sup = await startSupervisor({
    config,
    profiles: ['g', 'other', 'broken'],
    env: { GOOGLE_API_ROOT: fake.url, SUPERVISOR_TOKEN: SECRETS.supervisorToken, LOG_LEVEL: 'trace' },
  });
  ev.watch('supervisor and worker log', () => sup.proc.output());
  t.after(async () => {
    await sup.cleanup();
    await fake.close();
    await config.remove();
  });
  const api = client(sup.port, { record: ev });
  const bearer = { authorization: `Bearer ${SECRETS.supervisorToken}` };

  // ——— the OAuth web flow through the supervisor ———
  const start = await api.post('/p/g/api/auth/google');
  assert.equal(start.status, 200, start.text);
  const consent = await requestUrl(start.body.auth_url);
  assert.equal(consent.status, 302, consent.text);
  const callback = new URL(consent.headers.location!);
  assert.equal(callback.pathname, '/p/g/api/auth/google/callback');
  const done = await api.get(`${callback.pathname}${callback.search}`, { accept: 'text/html' });
  assert.equal(done.status, 200, done.text);
  assert.match(done.text, /connected/);
  const stored = await config.readJson('tokens/token_g.json');
  assert.ok(stored.token && stored.refresh_token, 'a real token was written');
  // a replayed callback (state is single use)
  assert.equal((await api.get(`${callback.pathname}${callback.search}`)).status, 400);

  // ——— Sheets, a refresh, a revocation ———
  const loaded = await api.post('/p/g/api/mis/load-sheet', { spreadsheet_id: SHEET_ID });
  assert.equal(loaded.status, 200, loaded.text);
  assert.equal((await api.get('/p/g/api/sheets/values?tab=Week&range=A1:B2')).status, 200);
  fake.expireAccessTokens();
  assert.equal((await api.get('/p/g/api/sheets/values?tab=Week&range=A1:B2')).status, 200, 'refreshed and retried');
  assert.ok(fake.refreshCount >= 1);
  fake.revoke((await config.readJson('tokens/token_g.json')).refresh_token);
  fake.expireAccessTokens();
  const revoked = await api.get('/p/g/api/sheets/values?tab=Week&range=A1:B2');
  assert.equal(revoked.status, 401, revoked.text);
  assert.equal(revoked.body.error, 'token_expired_or_revoked');

  // ——— passwords in, never out; bad input that holds secrets ———
  assert.equal((await api.post('/p/g/api/save-profile-credentials', blazeConfigWithSecrets('g@mis.example'))).status, 200);
  for (const body of [
    { mis_password: `${SECRETS.misPassword}\u0000` },
    { mis_password: SECRETS.misPassword.repeat(100) },
    { mis_pasword: SECRETS.misPassword },
    { mis_url: `http://user:${SECRETS.misPassword}@127.0.0.1:9/x y` },
    { blaze_password: 12345, mis_username: { password: SECRETS.blazePassword } },
  ]) {
    const r = await api.post('/p/g/api/save-profile-credentials', body);
    assert.equal(r.status, 400, r.text);
  }
  assert.equal((await api.post('/p/g/api/profile/register', `{"handle": "${SECRETS.misPassword}`, { 'content-type': 'application/json' })).status, 400);

  // ——— every read, on every profile, and the supervisor's own pages ———
  for (const h of ['g', 'other', 'broken']) {
    for (const target of ['/', '/healthz', '/health', '/api/profiles', '/api/profile/current', '/api/get-credentials', '/api/browser-status', '/api/session', '/api/mis/csv', `/api/profile/check-credentials/${h}`]) {
      await api.get(`/p/${h}${target}`);
    }
    await api.post(`/p/${h}/api/auth/google`);
    await api.get(`/supervisor/api/workers/${h}`);
    await api.get(`/supervisor/api/workers/${h}/logs?lines=500`);
  }
  for (const target of ['/', '/healthz', '/metrics', '/supervisor/api/workers', '/api/profiles', '/api/get-credentials', '/assets/dashboard.js']) await api.get(target);
  // with and without the supervisor token; a wrong one that looks like the real one
  assert.equal((await api.post('/supervisor/api/workers/other/restart', undefined, bearer)).status, 200);
  assert.equal((await api.post('/supervisor/api/workers/other/restart', undefined, { authorization: `Bearer ${SECRETS.supervisorToken}!` })).status, 401);
  assert.equal((await api.post('/supervisor/api/current', { handle: 'g' }, bearer)).status, 200);
  // what the logs endpoint shows after all of it, and the same lines after a recycle
  assert.equal((await api.post('/supervisor/api/workers/g/restart', undefined, bearer)).status, 200);
  for (const h of ['g', 'other', 'broken']) await api.get(`/supervisor/api/workers/${h}/logs?lines=500`);
  // the get-credentials answer shows that passwords are set, not what they are
  const shown = await api.get('/p/g/api/get-credentials');
  assert.equal(shown.body.mis_password_set, true);
  assert.equal(shown.body.blaze_password_set, true);

  // stop the whole system gracefully (as `npm run stop`) so every last line is written, the workers' too
  sup.proc.child.kill('SIGUSR2');
  await sup.proc.exited();
  for (const secret of fake.secrets()) ev.extraSecrets.add(secret);
  assert.ok(ev.extraSecrets.size >= 4, `tokens issued by the fake Google: ${ev.extraSecrets.size}`);
  // the tokens did reach the token file (so their absence elsewhere means something)
  const tokenFile = await fs.readFile(config.file('tokens', 'token_g.json'), 'utf8');
  assert.ok([...ev.extraSecrets].some((s) => tokenFile.includes(s)));
  assert.ok(ev.exchanges.length > 60, `${ev.exchanges.length} responses recorded`);
  const lines = sup.proc.output().split('\n').length;
  t.diagnostic(`${ev.exchanges.length} responses and ${lines} log lines searched`);
  assert.ok(lines > 50, `the log holds the whole session (${lines} lines)`);
  ev.assertClean();
});
