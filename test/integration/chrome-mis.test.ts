// One profile's Chrome against a local fake MIS, with Debian's real Chromium (headless by default):
// launched on demand only, init-all logs in with the saved credentials, pull-csv
// downloads the export into downloads/<h>/ as MIS_CSV_REPORT_<timestamp>.csv and loads it, clear errors for
// missing or wrong credentials, one automation at a time.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import { makeConfigDir, TEST_CLIENT_SECRET, type TestConfigDir } from '../helpers/config-dir.ts';
import { startWorker, type RunningWorker } from '../helpers/worker.ts';
import { waitFor } from '../helpers/processes.ts';
import { requireIntegration } from '../helpers/integration.ts';
import { assertNoBrowserFlags, chromiumAvailability, killProcessesMentioning, processesMentioning } from '../helpers/chromium.ts';
import { ResponseRecorder, assertTextHasNoSecrets } from '../helpers/recorder.ts';
import type { Client } from '../helpers/http.ts';
import { startFakeMis, MIS_CSV_COLUMNS, MIS_CSV_ROWS, type FakeMis } from '../fixtures/fake-mis.ts';

const chrome = chromiumAvailability();
const NICK = { email: 'nick@theartisttree.com', password: 'mis-pass-Nick-93a' };
const SECRETS = [NICK.password, TEST_CLIENT_SECRET];

const recorder = new ResponseRecorder();
const workers: RunningWorker[] = [];
let fake: FakeMis;
let config: TestConfigDir;
let worker: RunningWorker;
let api: Client;
let userDataDir: string;

before(async () => {
  if (!chrome.available) return;
  fake = await startFakeMis({ accounts: { [NICK.email]: NICK.password } });
  config = await makeConfigDir({ profiles: ['nick.tat'] });
  userDataDir = config.file('chrome', 'chrome_nick.tat');
  worker = await startWorker(config.dir, { BLAZE_PROFILE: 'nick.tat', CHROME_PATH: chrome.path });
  workers.push(worker);
  api = recorder.client(worker.url);
});
after(async () => {
  if (!chrome.available) return;
  await Promise.all(workers.map((w) => w.kill()));
  for (const w of workers) assertTextHasNoSecrets(`worker ${w.pid} log`, w.output(), SECRETS);
  killProcessesMentioning(userDataDir);
  await fake.close();
  await config.remove();
});

test('without saved MIS credentials: 409 mis_credentials_missing, and no Chrome is started', async (t) => {
  if (!requireIntegration(t, 'Chromium', chrome.available, chrome.reason)) return;
  const res = await api.post('/api/init-all');
  assert.equal(res.status, 409, res.text);
  assert.equal(res.body.success, false);
  assert.equal(res.body.error, 'mis_credentials_missing');
  assert.match(res.body.message, /save-profile-credentials/);
  const pull = await api.post('/api/mis/pull-csv');
  assert.equal(pull.status, 409);
  assert.equal(pull.body.error, 'mis_credentials_missing');
  // Chrome is launched on demand only: nothing so far needed it
  assert.deepEqual(processesMentioning(userDataDir), []);
  const status = await api.get('/api/browser-status');
  assert.equal(status.body.ready, false);
  assert.equal(status.body.instance, null);
  assert.equal((await api.get('/healthz')).body.browser_ready, false);
});

test('a wrong MIS password: 401 mis_login_failed, the password never echoed', async (t) => {
  if (!requireIntegration(t, 'Chromium', chrome.available, chrome.reason)) return;
  const wrong = 'wrong-pass-Zz81x';
  const saved = await api.post('/api/save-profile-credentials', { mis_username: NICK.email, mis_password: wrong, mis_url: fake.misUrl });
  assert.equal(saved.status, 200, saved.text);
  const res = await api.post('/api/init-all');
  assert.equal(res.status, 401, res.text);
  assert.equal(res.body.error, 'mis_login_failed');
  assert.match(res.body.message, /password/i);
  assert.ok(!res.text.includes(wrong));
  assert.equal(fake.failedLogins.length, 1);
  assert.equal(fake.failedLogins[0]!.email, NICK.email);
  assert.equal(fake.logins.length, 0);
  // the failed login is over, and nothing about it went into the session store
  assert.equal((await api.get('/api/browser-status')).body.automation, null);
  assertNoBrowserFlags((await api.get('/api/session')).body.values, 'the session');
  recorder.assertNoSecrets([wrong]);
});

test('init-all: Chrome with the profile\'s own dirs logs into the MIS (profile mis_url) with the saved credentials', async (t) => {
  if (!requireIntegration(t, 'Chromium', chrome.available, chrome.reason)) return;
  assert.equal((await api.post('/api/save-profile-credentials', { mis_password: NICK.password })).status, 200);
  const res = await api.post('/api/init-all');
  assert.equal(res.status, 200, res.text);
  assert.equal(res.body.success, true);
  assert.equal(res.body.browser_ready, true);
  assert.equal(res.body.mis_login, 'logged_in');
  assert.equal(res.body.mis_url, fake.misUrl);
  assert.equal(fake.logins.length, 1);
  assert.equal(fake.logins[0]!.email, NICK.email);

  const status = await api.get('/api/browser-status');
  assert.equal(status.body.ready, true);
  assert.equal(status.body.instance.user_data_dir, userDataDir);
  assert.equal(status.body.instance.download_dir, config.file('downloads', 'nick.tat'));
  const pids = processesMentioning(userDataDir);
  assert.ok(pids.includes(status.body.instance.pid), `Chrome pid ${status.body.instance.pid} not among ${pids}`);
  // HEADLESS defaults to true; the profile's user-data dir is Chrome's own
  const cmdline = (await fs.readFile(`/proc/${status.body.instance.pid}/cmdline`, 'utf8')).split('\0');
  assert.ok(cmdline.some((a) => a.startsWith('--headless')), cmdline.join(' '));
  assert.ok(cmdline.includes(`--user-data-dir=${userDataDir}`), cmdline.join(' '));
  assert.equal((await api.get('/healthz')).body.browser_ready, true);
  // the live state is in /api/browser-status (ready, as above; no automation running now), not in the
  // session store; that the MIS login holds shows in the second init-all below
  assert.equal(status.body.automation, null);
  assertNoBrowserFlags((await api.get('/api/session')).body.values, 'the session');
  assert.ok((await fs.readdir(userDataDir)).length > 0, 'the user-data dir is empty');

  // the session cookie is kept: a second init-all does not log in again
  const again = await api.post('/api/init-all');
  assert.equal(again.status, 200, again.text);
  assert.equal(again.body.mis_login, 'already_logged_in');
  assert.equal(fake.logins.length, 1);
});

test('pull-csv: the export lands in downloads/<h>/ as MIS_CSV_REPORT_<timestamp>.csv and is parsed correctly', async (t) => {
  if (!requireIntegration(t, 'Chromium', chrome.available, chrome.reason)) return;
  const res = await api.post('/api/mis/pull-csv');
  assert.equal(res.status, 200, res.text);
  assert.equal(res.body.success, true);
  assert.equal(res.body.source, 'mis');
  assert.match(res.body.file, /^MIS_CSV_REPORT_\d{8}T\d{9}Z\.csv$/);
  assert.deepEqual(res.body.columns, MIS_CSV_COLUMNS);
  assert.equal(res.body.row_count, MIS_CSV_ROWS.length);
  assert.deepEqual(res.body.first_rows, MIS_CSV_ROWS);
  assert.equal(fake.exports.length, 1);
  assert.equal(fake.exports[0]!.email, NICK.email);
  assert.equal(fake.exports[0]!.session, fake.logins[0]!.session);

  const dir = config.file('downloads', 'nick.tat');
  assert.deepEqual(await fs.readdir(dir), [res.body.file]);
  assert.deepEqual(await fs.readFile(`${dir}/${res.body.file}`), fake.csv, 'the downloaded bytes differ from the export');
  assert.deepEqual(await fs.readdir(config.file('downloads')), ['nick.tat']);

  const summary = await api.get('/api/mis/csv');
  assert.equal(summary.status, 200, summary.text);
  assert.equal(summary.body.file, res.body.file);
  assert.deepEqual(summary.body.columns, MIS_CSV_COLUMNS);
  assert.equal(summary.body.row_count, 4);
  assert.deepEqual(summary.body.first_rows[1], ['A-101', 'Gelato "Special" Pre-roll', 'Artist Tree, Select', '20', 'Line one\nline two']);
  assert.equal((await api.get('/api/session/csv')).status, 404, "remembered apart from the pages' session values");

  // a second pull gets its own file; the first stays
  const second = await api.post('/api/mis/pull-csv');
  assert.equal(second.status, 200, second.text);
  assert.notEqual(second.body.file, res.body.file);
  assert.deepEqual((await fs.readdir(dir)).sort(), [res.body.file, second.body.file].sort());
  assert.equal(fake.logins.length, 1);
});

test('a CSV Chrome is still writing is never taken: an export whose body trickles in is pulled whole', async (t) => {
  if (!requireIntegration(t, 'Chromium', chrome.available, chrome.reason)) return;
  fake.setExportTrickle(1500);
  try {
    const res = await api.post('/api/mis/pull-csv');
    assert.equal(res.status, 200, res.text);
    assert.equal(res.body.row_count, 4);
    assert.deepEqual(res.body.columns, MIS_CSV_COLUMNS);
  } finally {
    fake.setExportTrickle(0);
  }
});

test('one automation at a time: a second one while the export runs → 409 busy; the rest still answers', async (t) => {
  if (!requireIntegration(t, 'Chromium', chrome.available, chrome.reason)) return;
  fake.setExportDelay(2500);
  const first = api.post('/api/mis/pull-csv');
  try {
    await waitFor('the export to be in flight', () => fake.pendingExports === 1, 15_000);
    for (const path of ['/api/mis/pull-csv', '/api/init-all']) {
      const res = await api.post(path);
      assert.equal(res.status, 409, `${path}: ${res.text}`);
      assert.equal(res.body.error, 'busy');
      assert.equal(res.body.running, 'pull-csv');
      assert.match(res.body.message, /pull-csv/);
      assert.match(res.body.message, /waiting for the export/, 'the busy answer names the stage');
    }
    const status = await api.get('/api/browser-status');
    assert.equal(status.body.automation, 'pull-csv');
    assert.equal(status.body.ready, true);
    const work = await api.get('/api/work');
    assert.equal(work.status, 200, work.text);
    const pull = work.body.work.find((w: { name: string }) => w.name === 'pull-csv');
    assert.ok(pull, work.text);
    assert.equal(pull.state, 'running');
    assert.match(pull.stage, /waiting for the export/);
    assert.deepEqual(pull.attempt, { n: 1, of: 3 });
    assert.ok(pull.limit_ms > 0, 'the most it can take');
    // the running automation is live state: /api/browser-status has it, the session store does not
    assertNoBrowserFlags((await api.get('/api/session')).body.values, 'the session during the export');
    assert.equal((await api.get('/healthz')).status, 200);
    assert.equal((await api.get('/api/profile/current')).status, 200);

    const done = await first;
    assert.equal(done.status, 200, done.text);
    assert.equal(done.body.row_count, 4);
  } finally {
    fake.setExportDelay(0);
    await first.catch(() => {}); // over before anything else runs, even when an assertion above failed
  }
  assert.equal((await api.get('/api/browser-status')).body.automation, null);
  assertNoBrowserFlags((await api.get('/api/session')).body.values, 'the session after the export');
  const after = await api.post('/api/init-all');
  assert.equal(after.status, 200, after.text);
});

test('Close browser during an export cancels it: Chrome closes within 2 s and no partial CSV is kept', async (t) => {
  if (!requireIntegration(t, 'Chromium', chrome.available, chrome.reason)) return;
  const dir = config.file('downloads', 'nick.tat');
  const before = (await fs.readdir(dir).catch(() => [] as string[])).sort();
  fake.setExportDelay(20_000);
  const pull = api.post('/api/mis/pull-csv');
  try {
    await waitFor('the export to be in flight', () => fake.pendingExports === 1, 15_000);
    const asked = performance.now();
    const close = await api.post('/api/browser/close');
    const took = performance.now() - asked;
    assert.equal(close.status, 200, close.text);
    assert.equal(close.body.browser_ready, false);
    assert.ok(took < 2000, `closing took ${Math.round(took)} ms`);
    const cancelled = await pull;
    assert.equal(cancelled.status, 409, cancelled.text);
    assert.equal(cancelled.body.error, 'cancelled');
    assert.match(cancelled.body.message, /cancelled; nothing was kept/);
    await waitFor('Chrome to exit', () => processesMentioning(userDataDir).length === 0, 2000);
    const status = await api.get('/api/browser-status');
    assert.equal(status.body.state, 'not started');
    assert.equal(status.body.automation, null);
    assert.deepEqual((await fs.readdir(dir).catch(() => [] as string[])).sort(), before, 'nothing half-written');
  } finally {
    fake.setExportDelay(0);
    await pull.catch(() => {});
  }
  const again = await api.post('/api/init-all');
  assert.equal(again.status, 200, again.text);
});

test('MIS_URL is used when the profile sets no mis_url; POST /api/browser/close closes Chrome', async (t) => {
  if (!requireIntegration(t, 'Chromium', chrome.available, chrome.reason)) return;
  const close = await api.post('/api/browser/close');
  assert.equal(close.status, 200, close.text);
  assert.equal(close.body.browser_ready, false);
  await waitFor('Chrome to exit', () => processesMentioning(userDataDir).length === 0, 10_000);
  const status = await api.get('/api/browser-status');
  assert.equal(status.body.ready, false);
  assert.equal(status.body.instance, null);
  assert.equal((await api.get('/healthz')).body.browser_ready, false);
  assertNoBrowserFlags((await api.get('/api/session')).body.values, 'the session after the close');

  // the same profile, restarted with MIS_URL set (the same site), then saved with no mis_url of its own
  worker.child.kill('SIGTERM');
  assert.deepEqual(await worker.exited(), { code: 0, signal: null });
  worker = await startWorker(config.dir, { BLAZE_PROFILE: 'nick.tat', CHROME_PATH: chrome.path, MIS_URL: `${fake.url}/` });
  workers.push(worker);
  api = recorder.client(worker.url);
  assert.equal((await api.post('/api/save-profile-credentials', { mis_url: '' })).status, 200);
  const requestsBefore = fake.requests.length;
  const res = await api.post('/api/init-all');
  assert.equal(res.status, 200, res.text);
  assert.equal(res.body.mis_url, `${fake.url}/`);
  // the cookie from the first login lives in the profile's user-data dir: still logged in
  assert.equal(res.body.mis_login, 'already_logged_in');
  assert.ok(fake.requests.slice(requestsBefore).some((r) => r.path === '/' && r.email === NICK.email));
  assert.equal(fake.logins.length, 1);
});

test('no response carried a secret', (t) => {
  if (!requireIntegration(t, 'Chromium', chrome.available, chrome.reason)) return;
  recorder.assertNoSecrets(SECRETS);
});
