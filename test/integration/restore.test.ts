// A restart loses nothing (README, "Everyday use"): after each way a profile's worker is recycled or
// restarted — restart from the API, a changed credentials file, a switch, a crash and its healing, idle stop
// and start — the new worker brings the profile's work back by itself (a restart of the supervisor restarts
// no worker: the work stays where it is): the
// loaded MIS CSV, the spreadsheet and a working Sheets connection, and Chrome logged into the MIS within 10 s
// of the worker being ready. A pull-csv in progress when a switch arrives completes first; a piece that
// cannot come back is reported with the reason and the fix, and never stops the worker. Real Chromium, the
// fake MIS and the fake Google.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import { requireIntegration } from '../helpers/integration.ts';
import { waitFor } from '../helpers/processes.ts';
import { startSupervisor, type RunningSupervisor } from '../helpers/supervisor.ts';
import { api, giveWork, pidOf, restoreFixtures, snapshot, waitRestored, type Api, type Work } from '../helpers/restore.ts';

const H = 'lisa.tat';

/** The browser part of the restore came within 10 s of the worker being ready. */
function assertBrowserInTime(health: any, ready: { started_at: string }) {
  const piece = health.restore.pieces.browser;
  assert.equal(piece?.state, 'restored', JSON.stringify(health.restore));
  const took = Date.parse(health.restore.finished_at) - Date.parse(ready.started_at);
  assert.ok(took <= 10_000, `Chrome and the MIS login came back ${took} ms after the worker was ready`);
}

async function triggerAndCompare(client: Api, before: Work, what: string, trigger: () => Promise<void>, timeoutMs = 30_000) {
  const oldPid = await pidOf(client, H);
  await trigger();
  const health = await waitRestored(client, H, oldPid, timeoutMs);
  const after = await snapshot(client, H);
  assert.deepEqual(after, before, `${what}: the work after the restart`);
  const status = (await client.get(`/supervisor/api/workers/${H}`)).body.worker;
  assertBrowserInTime(health, status);
  assert.deepEqual(status.restore, { state: 'done', failed: [] }, `${what}: the dashboard's view of the restore`);
  assert.equal(status.browser_open, true);
}

test('every kind of restart brings the work back: CSV, spreadsheet and Sheets, Chrome logged into the MIS', { timeout: 300_000 }, async (t) => {
  const fixtures = await restoreFixtures([H, 'other']);
  if (!requireIntegration(t, 'Chromium', fixtures.chrome.available, fixtures.chrome.reason)) return void (await fixtures.close());
  let sup: RunningSupervisor = await startSupervisor({ config: fixtures.config, env: fixtures.env, waitReady: [H, 'other'] });
  t.after(async () => {
    await sup.cleanup();
    await fixtures.close();
  });
  const client = api(() => sup.port);
  await giveWork(client, fixtures, H);
  const before = await snapshot(client, H);
  assert.equal(before.csv.row_count, 4);
  assert.deepEqual(before.browser, { ready: true, mis_logged_in: true });

  await triggerAndCompare(client, before, 'restart from the API', async () => {
    assert.equal((await client.post(`/supervisor/api/workers/${H}/restart`)).status, 200);
  });
  await triggerAndCompare(client, before, 'a changed credentials file', async () => {
    const file = await fixtures.config.readJson(`google_creds/credentials_${H}.json`);
    await fixtures.config.writeJson(`google_creds/credentials_${H}.json`, { installed: { ...file.installed, project_id: 'rotated' } });
  });
  await triggerAndCompare(client, before, 'a switch', async () => {
    assert.equal((await client.post('/api/profile/switch', { handle: 'other' })).status, 200);
    await waitFor('the switch away', async () => (await client.get('/api/profile/current')).body.handle === 'other', 15_000);
    assert.equal((await client.post('/api/profile/switch', { handle: H })).status, 200);
  });
  await triggerAndCompare(client, before, 'a crash and its healing', async () => {
    process.kill(await pidOf(client, H), 'SIGKILL');
  });

  // The whole supervisor restarted (the same config dir, a new process), this time with idle stop on: the
  // worker is taken back as it runs, so its work never left.
  const oldSupervisorWorker = await pidOf(client, H);
  const logins = fixtures.mis.logins.length;
  sup.proc.child.kill('SIGTERM');
  await sup.proc.exited();
  sup = await startSupervisor({ config: fixtures.config, env: { ...fixtures.env, IDLE_TIMEOUT_MS: '3000' }, port: sup.port, basePort: sup.basePort, waitReady: [H] });
  assert.equal(await pidOf(client, H), oldSupervisorWorker, 'a restart of the supervisor restarts no worker');
  assert.deepEqual(await snapshot(client, H), before, 'a restart of the supervisor');
  assert.equal(fixtures.mis.logins.length, logins, 'nor signs into the MIS again');

  // Idle stop and start: unused, it sleeps (Chrome closed with it); the next request wakes it and the work
  // comes back.
  const asleep = await sup.waitForState(H, 'idle', 30_000);
  assert.equal(asleep.pid, null);
  const woken = await client.get(`/p/${H}/healthz`);
  assert.equal(woken.status, 200);
  await waitRestored(client, H, null);
  assert.deepEqual(await snapshot(client, H), before, 'idle stop and start');
});

test('a pull-csv in progress when a switch arrives completes, and its file is the one loaded after the recycle', { timeout: 180_000 }, async (t) => {
  const fixtures = await restoreFixtures([H, 'other']);
  if (!requireIntegration(t, 'Chromium', fixtures.chrome.available, fixtures.chrome.reason)) return void (await fixtures.close());
  await fixtures.config.writeJson('last_profile.json', { last_profile: 'other' });
  const sup = await startSupervisor({ config: fixtures.config, env: fixtures.env, waitReady: [H, 'other'] });
  t.after(async () => {
    await sup.cleanup();
    await fixtures.close();
  });
  const client = api(() => sup.port);
  await giveWork(client, fixtures, H);
  const firstCsv = (await snapshot(client, H)).csv.file;

  fixtures.mis.setExportDelay(4000);
  const pull = client.post(`/p/${H}/api/mis/pull-csv`);
  await sup.waitForState(H, 'ready', 10_000, (w: any) => w.work.includes('pull-csv'));
  const oldPid = await pidOf(client, H);
  const switched = await client.post('/api/profile/switch', { handle: H });
  assert.equal(switched.status, 200);
  const pending = await sup.waitForState(H, 'ready', 5000, (w: any) => w.pending !== null);
  assert.equal((pending as any).pending.reason, 'switched to this profile');
  assert.deepEqual((pending as any).pending.waiting_for, ['pull-csv']);
  assert.equal(pending.pid, oldPid, 'the worker keeps running while the pull finishes');

  const pulled = await pull;
  assert.equal(pulled.status, 200, `the pull was not cut: ${pulled.text}`);
  assert.notEqual(pulled.body.file, firstCsv);
  await waitRestored(client, H, oldPid);
  const after = await client.get(`/p/${H}/api/mis/csv`);
  assert.equal(after.body.file, pulled.body.file, 'the file the pull produced is loaded after the recycle');
  assert.equal((await client.get('/api/profile/current')).body.handle, H);
});

test('a piece that cannot come back is reported with its reason and fix; the worker serves anyway', { timeout: 180_000 }, async (t) => {
  const fixtures = await restoreFixtures([H]);
  if (!requireIntegration(t, 'Chromium', fixtures.chrome.available, fixtures.chrome.reason)) return void (await fixtures.close());
  const sup = await startSupervisor({ config: fixtures.config, env: fixtures.env, waitReady: [H] });
  t.after(async () => {
    await sup.cleanup();
    await fixtures.close();
  });
  const client = api(() => sup.port);
  await giveWork(client, fixtures, H);
  const before = await snapshot(client, H);

  // The CSV's file deleted, the Google token revoked, the MIS gone: then a restart.
  await fs.rm(fixtures.config.file('downloads', H, before.csv.file));
  fixtures.google.revoke((await fixtures.config.readJson(`tokens/token_${H}.json`)).refresh_token);
  fixtures.google.expireAccessTokens();
  await fixtures.config.writeJson(`blaze_configs/blaze_config_${H}.json`, {
    ...(await fixtures.config.readJson(`blaze_configs/blaze_config_${H}.json`)),
    mis_url: 'http://127.0.0.1:9/daily-discount', // nothing listens on the discard port
    mis_password_origin: 'http://127.0.0.1:9', // the password saved for it (else it is never sent there)
  });
  const oldPid = await pidOf(client, H);
  assert.equal((await client.post(`/supervisor/api/workers/${H}/restart`)).status, 200);
  const health = await waitRestored(client, H, oldPid, 60_000);
  const { csv, spreadsheet, browser } = health.restore.pieces;
  assert.equal(csv.state, 'failed');
  assert.match(csv.reason, new RegExp(`downloads/${H.replace('.', '\\.')}/${before.csv.file} no longer exists`));
  assert.match(csv.fix, /pull the CSV again \(POST \/p\/lisa\.tat\/api\/mis\/pull-csv\)/);
  assert.equal(spreadsheet.state, 'failed');
  assert.match(spreadsheet.reason, /expired or revoked/);
  assert.match(spreadsheet.fix, /connect Google again/);
  assert.equal(browser.state, 'failed');
  assert.match(browser.reason, /could not be opened/);
  assert.match(browser.fix, /check the MIS URL, the network/);
  assert.deepEqual((await client.get(`/supervisor/api/workers/${H}`)).body.worker.restore, { state: 'done', failed: ['csv', 'spreadsheet', 'browser'] });
  assert.equal(health.status, 'ok', 'the worker serves');
  assert.equal((await client.get(`/p/${H}/api/profile/current`)).status, 200);
});
