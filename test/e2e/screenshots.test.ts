// Screenshots of both pages for docs/screenshots/. `UPDATE_SCREENSHOTS=1` renders them
// anew in Chromium; otherwise this only checks that each is there and is a PNG of the expected width.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import type { Page } from 'puppeteer-core';
import { startSupervisor } from '../helpers/supervisor.ts';
import { DESKTOP, launchBrowser, PHONE, SCREENSHOT_DIR, startDemoSupervisor, waitForText } from '../helpers/e2e.ts';

const SHOTS = {
  'dashboard-first-run.png': DESKTOP.width,
  'dashboard-profiles.png': DESKTOP.width,
  'settings.png': DESKTOP.width,
  'dashboard-phone.png': PHONE.width,
  'settings-phone.png': PHONE.width,
  'logs.png': DESKTOP.width,
  'logs-phone.png': PHONE.width,
  'landing-errored.png': DESKTOP.width,
  'landing-phone.png': PHONE.width,
} as const;
type Shot = keyof typeof SHOTS;

const update = process.env.UPDATE_SCREENSHOTS === '1';

async function shoot(page: Page, name: Shot): Promise<void> {
  // no text caret or hover state in a picture
  await page.evaluate(() => (globalThis as any).document.activeElement?.blur());
  // The whole page, exactly the viewport's width (it never scrolls sideways: layout.test.ts).
  const height = await page.evaluate(() => (globalThis as any).document.documentElement.scrollHeight as number);
  const width = page.viewport()!.width;
  await page.screenshot({ path: path.join(SCREENSHOT_DIR, name) as `${string}.png`, clip: { x: 0, y: 0, width, height }, captureBeyondViewport: true });
}

async function dashboardSettled(page: Page): Promise<void> {
  await page.waitForSelector('#workers tr[data-handle="broken.port"][data-state="errored"] + tr[data-problem-for="broken.port"] ol.log-lines');
  for (const h of ['nick.tat', 'store-la', 'store-sf']) await page.waitForSelector(`#workers tr[data-handle="${h}"][data-state="ready"]`);
}

async function settingsSettled(page: Page): Promise<void> {
  await waitForText(page, '#csv-state', '14 columns');
  await page.waitForSelector('#profiles tr[data-handle="store-la"]');
  await page.waitForFunction(() => (globalThis as any).document.getElementById('mis_password').placeholder === 'saved', { polling: 50 });
}

test('screenshots in docs/screenshots', async (t) => {
  if (update) {
    const chrome = await launchBrowser(t);
    if (!chrome) return;
    await fs.mkdir(SCREENSHOT_DIR, { recursive: true });

    const first = await startSupervisor({ env: { STOP_TIMEOUT_MS: '3000' } });
    t.after(() => first.cleanup());
    const page = await chrome.newPage(DESKTOP);
    await page.goto(`${first.url}/`);
    await page.waitForSelector('#first-run:not([hidden])');
    await page.waitForSelector('#workers tr[data-state="ready"]');
    await shoot(page, 'dashboard-first-run.png');
    await page.close();
    await first.cleanup();

    const { sup } = await startDemoSupervisor(t);
    for (const [viewport, dashboardShot, settingsShot, logsShot, landingShot] of [
      [DESKTOP, 'dashboard-profiles.png', 'settings.png', 'logs.png', 'landing-errored.png'],
      [PHONE, 'dashboard-phone.png', 'settings-phone.png', 'logs-phone.png', 'landing-phone.png'],
    ] as const) {
      const dashboard = await chrome.newPage(viewport);
      await dashboard.goto(`${sup.url}/`);
      await dashboardSettled(dashboard);
      await shoot(dashboard, dashboardShot);
      await dashboard.close();
      const settings = await chrome.newPage(viewport);
      await settings.goto(`${sup.url}/p/nick.tat/`);
      await settingsSettled(settings);
      await shoot(settings, settingsShot);
      await settings.close();
      const logs = await chrome.newPage(viewport);
      await logs.goto(`${sup.url}/logs?handle=nick.tat`);
      await waitForText(logs, '#live-state', 'live');
      await shoot(logs, logsShot);
      await logs.close();
      const landing = await chrome.newPage(viewport);
      await landing.goto(`${sup.url}/p/broken.port/`);
      await landing.waitForSelector('main.landing [data-testid="log-lines"]');
      await shoot(landing, landingShot);
      await landing.close();
    }
    assert.deepEqual(chrome.pageErrors, []);
  }

  for (const [name, width] of Object.entries(SHOTS)) {
    const file = path.join(SCREENSHOT_DIR, name);
    const bytes = await fs.readFile(file).catch(() => null);
    assert.ok(bytes, `${path.relative(process.cwd(), file)} is missing: run UPDATE_SCREENSHOTS=1 npx node --test test/e2e/screenshots.test.ts`);
    assert.equal(bytes.subarray(1, 4).toString('latin1'), 'PNG', `${name} is a PNG`);
    assert.equal(bytes.readUInt32BE(16), width, `${name} is ${width} px wide`);
    assert.ok(bytes.readUInt32BE(20) >= 400, `${name} has a page in it`);
  }
});
