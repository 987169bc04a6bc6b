// Usable at 1280×800 and on a phone, 390×844: neither page scrolls sideways, and the main
// buttons are on screen, uncovered and clickable: the dashboard in first-run mode and with several profiles
// (one errored, with its log lines), and a settings page with a wide MIS CSV loaded.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Page } from 'puppeteer-core';
import { startSupervisor } from '../helpers/supervisor.ts';
import { clickabilityProblems, DESKTOP, horizontalOverflow, launchBrowser, PHONE, startDemoSupervisor, waitForText } from '../helpers/e2e.ts';

const VIEWPORTS = [
  { name: 'desktop 1280×800', ...DESKTOP },
  { name: 'phone 390×844', ...PHONE },
];

async function assertUsable(page: Page, what: string, buttons: string[]): Promise<void> {
  const overflow = await horizontalOverflow(page);
  assert.ok(
    overflow.scrollWidth <= overflow.innerWidth,
    `${what}: scrolls sideways (scrollWidth ${overflow.scrollWidth} > ${overflow.innerWidth}); sticking out: ${overflow.culprits.join(', ')}`,
  );
  assert.deepEqual(overflow.culprits, [], `${what}: nothing sticks out of the page or of its card`);
  for (const selector of buttons) {
    assert.deepEqual(await clickabilityProblems(page, selector), [], `${what}: ${selector}`);
  }
  // scrolling the buttons into view must not have revealed sideways scrolling either
  const after = await horizontalOverflow(page);
  assert.equal(await page.evaluate(() => (globalThis as any).scrollX as number), 0, `${what}: scrolled sideways to reach a button`);
  assert.ok(after.scrollWidth <= after.innerWidth, `${what}: ${after.culprits.join(', ')}`);
  assert.deepEqual(after.culprits, [], what);
}

test('first-run dashboard fits a desktop and a phone', async (t) => {
  const chrome = await launchBrowser(t);
  if (!chrome) return;
  const sup = await startSupervisor({ env: { STOP_TIMEOUT_MS: '3000' } });
  t.after(() => sup.cleanup());
  for (const viewport of VIEWPORTS) {
    const page = await chrome.newPage(viewport);
    await page.goto(`${sup.url}/`);
    await page.waitForSelector('#first-run:not([hidden])');
    // with the longest message the form shows
    await page.type('#register-handle', 'a-rather-long-store-handle.with.dots-and-hyphens');
    await page.click('#register-button');
    await waitForText(page, '#register-error', 'google_creds/credentials_a-rather-long-store-handle.with.dots-and-hyphens.json');
    await assertUsable(page, `first-run dashboard, ${viewport.name}`, ['#register-button']);
    await page.close();
  }
  assert.deepEqual(chrome.pageErrors, []);
});

test('dashboard and settings page with several profiles fit a desktop and a phone', async (t) => {
  const chrome = await launchBrowser(t);
  if (!chrome) return;
  const { sup } = await startDemoSupervisor(t);
  for (const viewport of VIEWPORTS) {
    const dashboard = await chrome.newPage(viewport);
    await dashboard.goto(`${sup.url}/`);
    await dashboard.waitForSelector('#workers tr[data-handle="broken.port"][data-state="errored"] pre.log');
    await dashboard.waitForSelector('#workers tr[data-handle="store-sf"][data-state="ready"]');
    await assertUsable(dashboard, `dashboard, ${viewport.name}`, [
      '#workers button[data-action="restart"]',
      '#workers button[data-action="stop"]',
      '#workers button[data-action="make-current"]',
      '#workers button[data-action="delete"]',
      '#workers a[href^="/p/"]',
    ]);
    await dashboard.close();

    const settings = await chrome.newPage(viewport);
    await settings.goto(`${sup.url}/p/nick.tat/`);
    await waitForText(settings, '#csv-state', '14 columns');
    await settings.waitForSelector('#csv-preview table');
    await settings.waitForSelector('#profiles tr[data-handle="store-la"] button[data-action="switch"]');
    await settings.waitForFunction(() => (globalThis as any).document.getElementById('mis_password').placeholder === 'saved', { polling: 50 });
    await assertUsable(settings, `settings page, ${viewport.name}`, [
      '#register-button',
      '#google-connect',
      '#credentials-save',
      '#init-all',
      '#pull-csv',
      '#browser-close',
      '#upload-button',
      '#sheet-load',
      '#profiles button[data-action="switch"]',
      '#profiles button[data-action="delete"]',
      '#dashboard-link',
    ]);
    await settings.close();
  }
  assert.deepEqual(chrome.pageErrors, []);
});
