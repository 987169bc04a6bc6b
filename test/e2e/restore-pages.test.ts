// The pages around a restart: the dashboard says before a Restart that it will close the profile's Chrome (and
// says nothing for a profile without one), shows the restore afterwards, and the profile's page lists what
// came back after the restart, piece by piece, live.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chromiumAvailability, killProcessesMentioning } from '../helpers/chromium.ts';
import { makeConfigDir } from '../helpers/config-dir.ts';
import { launchBrowser, waitForText } from '../helpers/e2e.ts';
import type { Page } from 'puppeteer-core';
import { startSupervisor } from '../helpers/supervisor.ts';
import { startFakeMis } from '../fixtures/fake-mis.ts';

const ACCOUNT = { email: 'lisa@theartisttree.com', password: 'mis-pass-Lisa-e2e' };
const row = (h: string) => `#workers tr[data-handle="${h}"]`;
/** Finds and clicks in one step inside the page: the dashboard rebuilds its rows every second. */
const clickNow = (page: Page, selector: string) => page.$eval(selector, (button) => (button as any).click());

test('Restart warns that it closes Chrome, and the pages show what came back', { timeout: 120_000 }, async (t) => {
  const chrome = await launchBrowser(t);
  if (!chrome) return;
  const mis = await startFakeMis({ accounts: { [ACCOUNT.email]: ACCOUNT.password } });
  const config = await makeConfigDir({ profiles: ['lisa.tat', 'quiet'] });
  t.after(async () => {
    killProcessesMentioning(config.file('chrome'));
    await mis.close();
    await config.remove();
  });
  const sup = await startSupervisor({ config, env: { MIS_URL: mis.misUrl, CHROME_PATH: chromiumAvailability().path, STOP_TIMEOUT_MS: '5000' }, waitReady: ['lisa.tat', 'quiet'] });
  t.after(() => sup.cleanup());
  assert.equal((await sup.post('/p/lisa.tat/api/save-profile-credentials', { mis_username: ACCOUNT.email, mis_password: ACCOUNT.password })).status, 200);
  assert.equal((await sup.post('/p/lisa.tat/api/init-all')).status, 200);
  await sup.waitForState('lisa.tat', 'ready', 5000, (w: any) => w.browser_open === true);

  const page = await chrome.newPage();
  const dialogs: string[] = [];
  page.on('dialog', (dialog) => dialogs.push(dialog.message()));
  await page.goto(`${sup.url}/`);
  await page.waitForSelector(`${row('lisa.tat')}[data-state="ready"]`);

  // No Chrome open: a Restart asks nothing.
  const quiet = (await sup.worker('quiet'))!;
  await clickNow(page, `${row('quiet')} button[data-action="restart"]`);
  await sup.waitForState('quiet', 'ready', 15_000, (w) => w.pid !== quiet.pid);
  assert.deepEqual(dialogs, []);

  // Chrome open: the Restart says so first; afterwards the row and the profile's page show the restore.
  const before = (await sup.worker('lisa.tat'))!;
  await clickNow(page, `${row('lisa.tat')} button[data-action="restart"]`);
  await sup.waitForState('lisa.tat', 'ready', 15_000, (w) => w.pid !== before.pid);
  assert.equal(dialogs.length, 1);
  assert.match(dialogs[0]!, /closes the Chrome of "lisa\.tat" \(logged into the MIS\)\. It is opened and logged in again right after/);
  await waitForText(page, `${row('lisa.tat')} [data-testid="restore"]`, 'Its work came back after the restart.', 20_000);

  const profile = await chrome.newPage();
  await profile.goto(`${sup.url}/p/lisa.tat/`);
  await profile.waitForSelector('#restore-state li[data-piece="browser"][data-state="restored"]', { timeout: 20_000 });
  assert.match(await profile.$eval('#restore-state', (n) => String((n as any).textContent)), /Chrome and the MIS login: back \(Chrome open, logged into/);
  await waitForText(profile, '#browser-state', 'logged into the MIS');

  // Live: the page of a profile that restarts while it is open shows the restore as it happens.
  const again = (await sup.worker('lisa.tat'))!;
  assert.equal((await sup.post('/supervisor/api/workers/lisa.tat/restart')).status, 200);
  await sup.waitForState('lisa.tat', 'ready', 15_000, (w) => w.pid !== again.pid);
  await profile.waitForFunction(
    () => {
      const doc = (globalThis as any).document;
      return doc.querySelector('#restore-state li[data-piece="browser"][data-state="restored"]') && doc.querySelector('#browser-state').textContent.includes('logged into the MIS');
    },
    { timeout: 30_000, polling: 100 },
  );
  assert.deepEqual(chrome.pageErrors, []);
});
