// Two profiles' Chrome sessions side by side: each worker's Chrome has its own user-data dir
// with its own cookies and its own download folder, so two MIS accounts stay signed in at once and each export
// is made by, and lands with, its own profile.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import { makeConfigDir, TEST_CLIENT_SECRET, type TestConfigDir } from '../helpers/config-dir.ts';
import { startWorker, type RunningWorker } from '../helpers/worker.ts';
import { waitFor } from '../helpers/processes.ts';
import { requireIntegration } from '../helpers/integration.ts';
import { chromiumAvailability, killProcessesMentioning, processesMentioning } from '../helpers/chromium.ts';
import { ResponseRecorder, assertTextHasNoSecrets } from '../helpers/recorder.ts';
import type { Client } from '../helpers/http.ts';
import { startFakeMis, type FakeMis } from '../fixtures/fake-mis.ts';

const chrome = chromiumAvailability();
const ACCOUNTS = {
  'nick.tat': { email: 'nick@theartisttree.com', password: 'mis-pass-Nick-5d0' },
  'lisa.tat': { email: 'lisa@theartisttree.com', password: 'mis-pass-Lisa-c17' },
} as const;
type Handle = keyof typeof ACCOUNTS;
const HANDLES = Object.keys(ACCOUNTS) as Handle[];
const SECRETS = [...Object.values(ACCOUNTS).map((a) => a.password), TEST_CLIENT_SECRET];

const recorder = new ResponseRecorder();
const workers: RunningWorker[] = [];
const api = {} as Record<Handle, Client>;
let fake: FakeMis;
let config: TestConfigDir;
const userDataDir = (h: Handle) => config.file('chrome', `chrome_${h}`);

before(async () => {
  if (!chrome.available) return;
  fake = await startFakeMis({ accounts: Object.fromEntries(Object.values(ACCOUNTS).map((a) => [a.email, a.password])) });
  config = await makeConfigDir({ profiles: HANDLES });
  const started = await Promise.all(HANDLES.map((h) => startWorker(config.dir, { BLAZE_PROFILE: h, CHROME_PATH: chrome.path, MIS_URL: fake.misUrl })));
  workers.push(...started);
  HANDLES.forEach((h, i) => (api[h] = recorder.client(started[i]!.url)));
  for (const h of HANDLES) {
    const saved = await api[h].post('/api/save-profile-credentials', { mis_username: ACCOUNTS[h].email, mis_password: ACCOUNTS[h].password });
    assert.equal(saved.status, 200, saved.text);
  }
});
after(async () => {
  if (!chrome.available) return;
  await Promise.all(workers.map((w) => w.kill()));
  for (const w of workers) assertTextHasNoSecrets(`worker ${w.pid} log`, w.output(), SECRETS);
  for (const h of HANDLES) killProcessesMentioning(userDataDir(h));
  await fake.close();
  await config.remove();
});

test('both log in at the same time, each with its own account and its own Chrome', async (t) => {
  if (!requireIntegration(t, 'Chromium', chrome.available, chrome.reason)) return;
  const results = await Promise.all(HANDLES.map((h) => api[h].post('/api/init-all')));
  for (const res of results) {
    assert.equal(res.status, 200, res.text);
    assert.equal(res.body.mis_login, 'logged_in');
  }
  assert.equal(fake.logins.length, 2);
  assert.deepEqual(fake.logins.map((l) => l.email).sort(), Object.values(ACCOUNTS).map((a) => a.email).sort());
  assert.notEqual(fake.logins[0]!.session, fake.logins[1]!.session);

  const status = await Promise.all(HANDLES.map((h) => api[h].get('/api/browser-status')));
  const [nickPid, lisaPid] = status.map((s) => s.body.instance.pid as number);
  assert.notEqual(nickPid, lisaPid);
  assert.ok(processesMentioning(userDataDir('nick.tat')).includes(nickPid!));
  assert.ok(processesMentioning(userDataDir('lisa.tat')).includes(lisaPid!));
  assert.ok(!processesMentioning(userDataDir('nick.tat')).includes(lisaPid!), "lisa's Chrome uses nick's user-data dir");
});

test('each export is made with its own account\'s session and lands in its own download folder', async (t) => {
  if (!requireIntegration(t, 'Chromium', chrome.available, chrome.reason)) return;
  const results = await Promise.all(HANDLES.map((h) => api[h].post('/api/mis/pull-csv')));
  for (const res of results) assert.equal(res.status, 200, res.text);
  assert.equal(fake.exports.length, 2);
  for (const h of HANDLES) {
    const login = fake.logins.find((l) => l.email === ACCOUNTS[h].email)!;
    const exported = fake.exports.filter((e) => e.email === ACCOUNTS[h].email);
    assert.equal(exported.length, 1, `${h} exported ${exported.length} times`);
    assert.equal(exported[0]!.session, login.session);
  }
  const [nickFile, lisaFile] = results.map((r) => r.body.file as string);
  assert.deepEqual(await fs.readdir(config.file('downloads', 'nick.tat')), [nickFile]);
  assert.deepEqual(await fs.readdir(config.file('downloads', 'lisa.tat')), [lisaFile]);
  assert.deepEqual((await fs.readdir(config.file('downloads'))).sort(), ['lisa.tat', 'nick.tat']);
});

test('the cookies live in each profile\'s user-data dir: after a browser restart each is still its own account', async (t) => {
  if (!requireIntegration(t, 'Chromium', chrome.available, chrome.reason)) return;
  for (const h of HANDLES) assert.equal((await api[h].post('/api/browser/close')).status, 200);
  await waitFor('both Chromes to exit', () => HANDLES.every((h) => processesMentioning(userDataDir(h)).length === 0), 10_000);
  // Chrome wrote each profile's cookie jar into that profile's own dir
  for (const h of HANDLES) {
    const jar = await fs.readFile(`${userDataDir(h)}/Default/Cookies`);
    assert.ok(jar.includes('mis_session'), `${h}'s Cookies file holds no MIS session cookie`);
  }

  const requestsBefore = fake.requests.length;
  const again = await Promise.all(HANDLES.map((h) => api[h].post('/api/init-all')));
  for (const res of again) {
    assert.equal(res.status, 200, res.text);
    assert.equal(res.body.mis_login, 'already_logged_in');
  }
  assert.equal(fake.logins.length, 2, 'a profile had to log in again');
  const seen = fake.requests.slice(requestsBefore).filter((r) => r.path === '/daily-discount');
  assert.deepEqual([...new Set(seen.map((r) => r.email))].sort(), Object.values(ACCOUNTS).map((a) => a.email).sort());
  for (const h of HANDLES) {
    const login = fake.logins.find((l) => l.email === ACCOUNTS[h].email)!;
    assert.ok(seen.some((r) => r.session === login.session), `${h}'s own session was not presented`);
  }
  // and a new export is still attributed to the right account
  const pulled = await api['lisa.tat'].post('/api/mis/pull-csv');
  assert.equal(pulled.status, 200, pulled.text);
  assert.equal(fake.exports.at(-1)!.email, ACCOUNTS['lisa.tat'].email);
});

test('no response carried a secret', (t) => {
  if (!requireIntegration(t, 'Chromium', chrome.available, chrome.reason)) return;
  recorder.assertNoSecrets(SECRETS);
});
