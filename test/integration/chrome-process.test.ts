// No Chrome outlives its worker: SIGTERM closes it as part of a clean stop, and a worker
// killed with SIGKILL — idle or in the middle of an export — leaves no Chrome process of its profile behind.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { makeConfigDir, TEST_CLIENT_SECRET, type TestConfigDir } from '../helpers/config-dir.ts';
import { startWorker, type RunningWorker } from '../helpers/worker.ts';
import { waitFor } from '../helpers/processes.ts';
import { requireIntegration } from '../helpers/integration.ts';
import { assertNoBrowserFlags, chromiumAvailability, killProcessesMentioning, processesMentioning, processTree, stillRunningChrome } from '../helpers/chromium.ts';
import { ResponseRecorder, assertTextHasNoSecrets } from '../helpers/recorder.ts';
import { startFakeMis, type FakeMis } from '../fixtures/fake-mis.ts';

const chrome = chromiumAvailability();
const ACCOUNT = { email: 'store-la@theartisttree.com', password: 'mis-pass-Store-2b9' };
const SECRETS = [ACCOUNT.password, TEST_CLIENT_SECRET];

const recorder = new ResponseRecorder();
const workers: RunningWorker[] = [];
const configs: TestConfigDir[] = [];
const fakes: FakeMis[] = [];

/** A worker whose Chrome is up and logged in; returns the Chrome pids found for its user-data dir. */
async function withChrome(handle: string, options: { exportDelayMs?: number } = {}) {
  const fake = await startFakeMis({ accounts: { [ACCOUNT.email]: ACCOUNT.password }, ...options });
  fakes.push(fake);
  const config = await makeConfigDir({ profiles: [handle] });
  configs.push(config);
  const userDataDir = config.file('chrome', `chrome_${handle}`);
  const worker = await startWorker(config.dir, { BLAZE_PROFILE: handle, CHROME_PATH: chrome.path, MIS_URL: fake.misUrl });
  workers.push(worker);
  const api = recorder.client(worker.url);
  assert.equal((await api.post('/api/save-profile-credentials', { mis_username: ACCOUNT.email, mis_password: ACCOUNT.password })).status, 200);
  const init = await api.post('/api/init-all');
  assert.equal(init.status, 200, init.text);
  const pids = processesMentioning(userDataDir);
  const main = (await api.get('/api/browser-status')).body.instance.pid as number;
  assert.ok(pids.includes(main), `Chrome ${main} not among ${pids}`);
  assert.ok(pids.length >= 2, `expected Chrome and its helpers, found ${pids.length}`);
  // every process of this Chrome: helpers whose command line lacks --user-data-dir are found through the tree
  const tree = [...new Set([...processTree(main), ...pids])];
  const gone = () => processesMentioning(userDataDir).length === 0 && stillRunningChrome(tree).length === 0;
  const left = () => `by user-data dir: ${processesMentioning(userDataDir)}; in the tree: ${stillRunningChrome(tree)}`;
  return { fake, config, userDataDir, worker, api, pids, gone, left };
}

after(async () => {
  await Promise.all(workers.map((w) => w.kill()));
  for (const w of workers) assertTextHasNoSecrets(`worker ${w.pid} log`, w.output(), SECRETS);
  for (const c of configs) killProcessesMentioning(c.dir);
  await Promise.all(fakes.map((f) => f.close()));
  await Promise.all(configs.map((c) => c.remove()));
});

test('SIGTERM: the worker closes Chrome and exits 0', async (t) => {
  if (!requireIntegration(t, 'Chromium', chrome.available, chrome.reason)) return;
  const { worker, gone, left } = await withChrome('store-la');
  worker.child.kill('SIGTERM');
  assert.deepEqual(await worker.exited(), { code: 0, signal: null });
  // closed by the worker before it exited, not left to die later
  await waitFor('Chrome to be gone', gone, 3000).catch((error) => {
    throw new Error(`${(error as Error).message}; ${left()}`);
  });
  assert.ok(worker.lines.some((l) => l.msg === 'stopped'));
  assert.ok(!worker.lines.some((l) => /Chrome did not close cleanly/.test(String(l.msg))));
});

test('kill -9 of an idle worker: its Chrome exits within a few seconds', async (t) => {
  if (!requireIntegration(t, 'Chromium', chrome.available, chrome.reason)) return;
  const { worker, gone, left } = await withChrome('nick.tat');
  process.kill(worker.pid, 'SIGKILL'); // the worker only, not its process group
  await worker.exited();
  const started = performance.now();
  await waitFor('every Chrome process of the profile to exit', gone, 8000).catch((error) => {
    throw new Error(`${(error as Error).message}; ${left()}`);
  });
  assert.ok(performance.now() - started < 5000);
});

test('kill -9 in the middle of an export: no Chrome left, and the next worker starts clean', async (t) => {
  if (!requireIntegration(t, 'Chromium', chrome.available, chrome.reason)) return;
  const { fake, config, worker, api, gone, left } = await withChrome('lisa.tat', { exportDelayMs: 30_000 });
  const pull = api.post('/api/mis/pull-csv').catch((error: Error) => error);
  await waitFor('the export to be in flight', () => fake.pendingExports === 1, 15_000);
  // the running automation is live state: /api/browser-status has it, the session store does not
  assert.equal((await api.get('/api/browser-status')).body.automation, 'pull-csv');
  assertNoBrowserFlags((await api.get('/api/session')).body.values, 'the session during the export');
  process.kill(worker.pid, 'SIGKILL');
  await worker.exited();
  assert.ok((await pull) instanceof Error, 'the cut request should fail');
  await waitFor('every Chrome process of the profile to exit', gone, 8000).catch((error) => {
    throw new Error(`${(error as Error).message}; ${left()}`);
  });

  // the next worker starts with none of the killed one's live state in its session, and its restore opens
  // Chrome again (a new one) and logs into the MIS, as the profile had it
  fake.setExportDelay(0);
  const next = await startWorker(config.dir, { BLAZE_PROFILE: 'lisa.tat', CHROME_PATH: chrome.path, MIS_URL: fake.misUrl });
  workers.push(next);
  const api2 = recorder.client(next.url);
  assertNoBrowserFlags((await api2.get('/api/session')).body.values, 'the next worker\'s session');
  const restored = await waitFor('the restore of the next worker', async () => {
    const health = await api2.get('/healthz');
    return health.body.restore?.state === 'done' ? health.body.restore : null;
  }, 30_000);
  assert.equal(restored.pieces.browser.state, 'restored', JSON.stringify(restored));
  const status = await api2.get('/api/browser-status');
  assert.equal(status.body.ready, true);
  assert.equal(status.body.mis_logged_in, true);
  assert.equal(status.body.automation, null, 'the dead worker\'s pull-csv is not running');
  const again = await api2.post('/api/mis/pull-csv');
  assert.equal(again.status, 200, again.text);
  assert.equal(again.body.row_count, 4);
});

test('no response carried a secret', (t) => {
  if (!requireIntegration(t, 'Chromium', chrome.available, chrome.reason)) return;
  recorder.assertNoSecrets(SECRETS);
});
