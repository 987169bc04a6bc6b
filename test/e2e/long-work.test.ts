// Long work on the profile page, at 1280×800 and 390×844, through the supervisor: "Start browser + MIS
// login" against an MIS that is slow at every step shows each stage as the worker reaches it (Server-Sent
// Events, not a timer in the page), in order, with the time so far and the most it can take; the browser
// line tells the truth at every moment; Cancel frees Chrome within 2 s and leaves nothing half-done.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Page } from 'puppeteer-core';
import { assertUsable, launchBrowser, VIEWPORTS, waitForText } from '../helpers/e2e.ts';
import { processesMentioning } from '../helpers/chromium.ts';
import { MIS_ACCOUNT, restoreFixtures } from '../helpers/restore.ts';
import { startSupervisor } from '../helpers/supervisor.ts';
import { waitFor } from '../helpers/processes.ts';

const STEP_MS = 1200;

/** Records, in the page, every stage and browser line shown, in the order shown. */
async function recordShown(page: Page): Promise<void> {
  await page.evaluate(() => {
    const g = globalThis as any;
    g.__stages = [];
    g.__browser = [];
    const note = (list: string[], text: string) => {
      if (text && list.at(-1) !== text) list.push(text);
    };
    const look = () => {
      for (const n of g.document.querySelectorAll('#session-work [data-testid="stage"]')) note(g.__stages, String(n.textContent));
      note(g.__browser, String(g.document.getElementById('browser-state').textContent));
    };
    new g.MutationObserver(look).observe(g.document.body, { subtree: true, childList: true, characterData: true });
    look();
  });
}

const shown = (page: Page) => page.evaluate(() => ({ stages: (globalThis as any).__stages as string[], browser: (globalThis as any).__browser as string[] }));

/** `wanted` appear in `seen` in this order (others may come between). */
function assertInOrder(seen: string[], wanted: RegExp[], what: string): void {
  let at = 0;
  for (const pattern of wanted) {
    const found = seen.findIndex((s, i) => i >= at && pattern.test(s));
    assert.ok(found >= 0, `${what}: ${pattern} not seen after position ${at} in ${JSON.stringify(seen)}`);
    at = found + 1;
  }
}

test('long work shows its stages live and can be cancelled', async (t) => {
  const chrome = await launchBrowser(t);
  if (!chrome) return;
  const fixtures = await restoreFixtures(['lisa.tat']);
  t.after(() => fixtures.close());
  const sup = await startSupervisor({ config: fixtures.config, env: fixtures.env, waitReady: ['lisa.tat'] });
  t.after(() => sup.cleanup());
  const saved = await sup.post('/p/lisa.tat/api/save-profile-credentials', { mis_username: MIS_ACCOUNT.email, mis_password: MIS_ACCOUNT.password });
  assert.equal(saved.status, 200, saved.text);
  const chromeDir = fixtures.config.file('chrome');

  for (const viewport of VIEWPORTS) {
    await t.test(`${viewport.name}: init-all against a slow MIS, stage by stage`, async () => {
      fixtures.mis.endSessions();
      fixtures.mis.setDelay('page', STEP_MS);
      fixtures.mis.setDelay('login', STEP_MS);
      const page = await chrome.newPage(viewport);
      await page.goto(`${sup.url}/p/lisa.tat/`);
      await page.waitForSelector('body[data-loaded]');
      await waitForText(page, '#browser-state', 'not started');
      await recordShown(page);
      await page.click('#init-all');
      // while it runs: the stage, the time so far and the most it can take, and a Cancel button
      await page.waitForSelector('#session-work [data-work="init-all"] button[data-action="cancel"]');
      const line = await waitForText(page, '#session-work [data-work="init-all"]', 'at most');
      assert.match(line, /^Starting Chrome and signing into the MIS: .+ · \d+ s so far, at most \d+ sCancel$/);
      await assertUsable(page, `init-all running, ${viewport.name}`, ['#session-work button[data-action="cancel"]']);
      await waitForText(page, '#session-ok', 'logged into the MIS', 30_000);
      const { stages, browser } = await shown(page);
      assertInOrder(stages, [/^starting Chrome$/, /^opening the MIS$/, /^signing in$/], 'the stages');
      assertInOrder(browser, [/^not started$/, /^starting Chrome…$/, /^running \(pid \d+\), signing into the MIS at /, /^running \(pid \d+\), logged into the MIS at /], 'the browser line');
      assert.equal(await page.$('#session-work [data-work]'), null, 'the work line is gone once done');
      fixtures.mis.setDelay('page', 0);
      fixtures.mis.setDelay('login', 0);
      const closed = await sup.post('/p/lisa.tat/api/browser/close');
      assert.equal(closed.status, 200, closed.text);
      await waitForText(page, '#browser-state', 'not started');
      await page.close();
    });

    await t.test(`${viewport.name}: Cancel frees Chrome within 2 s`, async () => {
      assert.equal((await sup.post('/p/lisa.tat/api/browser/close')).status, 200);
      // the MIS hangs on its first page: nothing would end this for a long time
      fixtures.mis.setDelay('page', 60_000);
      const page = await chrome.newPage(viewport);
      try {
        await page.goto(`${sup.url}/p/lisa.tat/`);
        await page.waitForSelector('body[data-loaded]');
        await page.click('#init-all');
        await page.waitForSelector('#session-work [data-work="init-all"][data-stage="opening the MIS"]', { timeout: 20_000 });
        assert.ok(processesMentioning(chromeDir).length > 0, 'Chrome runs');
        const asked = performance.now();
        await page.click('#session-work [data-work="init-all"] button[data-action="cancel"]');
        await waitFor('Chrome to exit', () => processesMentioning(chromeDir).length === 0, 2000);
        const took = performance.now() - asked;
        assert.ok(took < 2000, `Chrome still ran ${Math.round(took)} ms after Cancel`);
        await waitForText(page, '#session-error', 'was cancelled; nothing was kept from it');
        await waitForText(page, '#browser-state', 'not started');
        assert.equal(await page.$('#session-work [data-work]'), null);
        const status = await sup.get('/p/lisa.tat/api/browser-status');
        assert.equal(status.body.state, 'not started');
        assert.equal(status.body.automation, null);
        assert.equal((await sup.get('/p/lisa.tat/api/work')).body.work.length, 0);
        // the button works again at once
        assert.equal(await page.$eval('#init-all', (b: any) => b.disabled), false);
      } finally {
        fixtures.mis.setDelay('page', 0);
        await page.close();
      }
    });
  }

  await t.test('cancelled with Chrome already open: Chrome stays, not signed in, free at once', async () => {
    fixtures.mis.endSessions();
    const page = await chrome.newPage();
    try {
      const opened = await sup.post('/p/lisa.tat/api/init-all');
      assert.equal(opened.status, 200, opened.text);
      const pid = (await sup.get('/p/lisa.tat/api/browser-status')).body.instance.pid;
      fixtures.mis.endSessions();
      fixtures.mis.setDelay('page', 60_000);
      await page.goto(`${sup.url}/p/lisa.tat/`);
      await page.waitForSelector('body[data-loaded]');
      await page.click('#init-all');
      await page.waitForSelector('#session-work [data-work="init-all"][data-stage="opening the MIS"]', { timeout: 20_000 });
      await page.click('#session-work [data-work="init-all"] button[data-action="cancel"]');
      await waitForText(page, '#session-error', 'was cancelled', 2000);
      await waitForText(page, '#browser-state', `running (pid ${pid}), not signed into the MIS`, 2000);
      fixtures.mis.setDelay('page', 0);
      const again = await sup.post('/p/lisa.tat/api/init-all');
      assert.equal(again.status, 200, again.text);
      assert.equal(again.body.mis_login, 'logged_in');
    } finally {
      fixtures.mis.setDelay('page', 0);
      await page.close();
    }
  });

  await t.test('the dashboard shows a worker start stage by stage', async () => {
    const page = await chrome.newPage();
    await page.goto(`${sup.url}/`);
    await page.waitForSelector('#workers tr[data-handle="lisa.tat"][data-state="ready"]');
    await page.evaluate(() => {
      const g = globalThis as any;
      g.__rowStages = [];
      new g.MutationObserver(() => {
        const n = g.document.querySelector('#workers tr[data-handle="lisa.tat"] [data-testid="stage"] .stage');
        const text = n ? String(n.textContent) : '';
        if (text && g.__rowStages.at(-1) !== text) g.__rowStages.push(text);
      }).observe(g.document.body, { subtree: true, childList: true, characterData: true });
    });
    await page.click('#workers tr[data-handle="lisa.tat"] button[data-action="restart"]');
    await page.waitForFunction(() => (globalThis as any).document.querySelector('#workers tr[data-handle="lisa.tat"]')?.dataset.state !== 'ready', { polling: 20 });
    await page.waitForSelector('#workers tr[data-handle="lisa.tat"][data-state="ready"]', { timeout: 30_000 });
    const stages = await page.evaluate(() => (globalThis as any).__rowStages as string[]);
    assertInOrder(stages, [/^stopping its process$/, /^starting its process$/], 'the dashboard stages');
    await page.close();
  });

  assert.deepEqual(chrome.pageErrors, []);
});
