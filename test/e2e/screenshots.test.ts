// The pages as they render now, compared with the pictures in docs/screenshots/: the same size (within a few
// lines) and nearly every pixel the same, so a lost stylesheet, a section gone or a broken layout fails here.
// What legitimately changes between runs (times, pids, ports) is a few short texts. `UPDATE_SCREENSHOTS=1`
// writes what it renders into docs/screenshots/ instead.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pixelmatch from 'pixelmatch';
import { PNG } from 'pngjs';
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

/** The share of pixels that may differ, and how much taller or shorter a page may be. Measured: two renders
 *  differ in at most 0.2% of their pixels (clock times, uptimes, pids, ports); one padding changed in the
 *  stylesheet moves 11%, a log line more under an errored worker 8%. */
const MAX_CHANGED_PIXELS = 0.04;
const MAX_HEIGHT_CHANGE = 0.05;

let shotDir = SCREENSHOT_DIR;

async function shoot(page: Page, name: Shot): Promise<void> {
  // no text caret or hover state in a picture
  await page.evaluate(() => (globalThis as any).document.activeElement?.blur());
  // The whole page, exactly the viewport's width (it never scrolls sideways: layout.test.ts).
  const height = await page.evaluate(() => (globalThis as any).document.documentElement.scrollHeight as number);
  const width = page.viewport()!.width;
  await page.screenshot({ path: path.join(shotDir, name) as `${string}.png`, clip: { x: 0, y: 0, width, height }, captureBeyondViewport: true });
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

/** How far `now` is from `committed`: the share of pixels that differ over the height both have. */
function changedShare(committed: PNG, now: PNG): number {
  const width = committed.width;
  const height = Math.min(committed.height, now.height);
  const crop = (png: PNG) => png.data.subarray(0, width * height * 4);
  const changed = pixelmatch(crop(committed), crop(now), null, width, height, { threshold: 0.1 });
  return changed / (width * height) + Math.abs(committed.height - now.height) / committed.height;
}

test('the pages render as in docs/screenshots', async (t) => {
  const chrome = await launchBrowser(t);
  if (!chrome) return;
  if (!update) {
    shotDir = await fs.mkdtemp(path.join(os.tmpdir(), 'tat-screenshots-'));
    t.after(() => fs.rm(shotDir, { recursive: true, force: true }));
  }
  {
    await fs.mkdir(shotDir, { recursive: true });

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

  const UPDATE_HINT = 'if the change is meant, run UPDATE_SCREENSHOTS=1 npx node --test test/e2e/screenshots.test.ts and commit the pictures';
  for (const [name, width] of Object.entries(SHOTS)) {
    const file = path.join(SCREENSHOT_DIR, name);
    const bytes = await fs.readFile(file).catch(() => null);
    assert.ok(bytes, `${path.relative(process.cwd(), file)} is missing: ${UPDATE_HINT}`);
    const committed = PNG.sync.read(bytes);
    assert.equal(committed.width, width, `${name} is ${width} px wide`);
    assert.ok(committed.height >= 400, `${name} has a page in it`);
    if (update) continue;
    const now = PNG.sync.read(await fs.readFile(path.join(shotDir, name)));
    assert.equal(now.width, width, `${name} renders ${width} px wide`);
    const heightChange = Math.abs(now.height - committed.height) / committed.height;
    assert.ok(heightChange <= MAX_HEIGHT_CHANGE, `${name} renders ${now.height} px tall, the committed one is ${committed.height} px; ${UPDATE_HINT}`);
    const share = changedShare(committed, now);
    t.diagnostic(`${name}: ${(share * 100).toFixed(2)}% changed`);
    assert.ok(share <= MAX_CHANGED_PIXELS, `${name}: ${(share * 100).toFixed(1)}% of it renders differently from the committed picture (at most ${MAX_CHANGED_PIXELS * 100}%); ${UPDATE_HINT}`);
  }
});
