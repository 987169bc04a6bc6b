// The logs page in Chromium: reached from the dashboard's "Logs" link and from a navigation to the JSON
// logs; the recent lines, readable (time, level, message, key=value), level-coloured, a repeated line shown
// once with ×N; new lines within a second without polling; the level filter without reloading; the view
// follows the newest lines unless the person scrolled up; a clear message for an unknown profile.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Page } from 'puppeteer-core';
import { startSupervisor } from '../helpers/supervisor.ts';
import { isVisible, launchBrowser, textOf, waitForText } from '../helpers/e2e.ts';

const PRELOAD = fileURLToPath(new URL('../fixtures/worker-raw-secret-line.mjs', import.meta.url));
const SECRET = 'Hunter2-e2e-Secret-k4Tz';

const entries = (page: Page) =>
  page.$$eval('#lines > li', (nodes) =>
    nodes.map((n: any) => ({
      level: n.dataset.level as string,
      text: String(n.textContent),
      msg: String(n.querySelector('.log-msg')?.textContent ?? ''),
      count: n.querySelector('.log-count')?.hidden ? '' : String(n.querySelector('.log-count')?.textContent ?? ''),
      visible: (globalThis as any).getComputedStyle(n).display !== 'none',
    })),
  );
const atBottom = (page: Page) => page.$eval('#log-view', (v: any) => v.scrollHeight - v.scrollTop - v.clientHeight < 30);

test('the logs page: readable lines, live, collapsed repeats, level filter, follow the bottom, 404', async (t) => {
  const chrome = await launchBrowser(t);
  if (!chrome) return;
  const burstFile = path.join(await fs.mkdtemp(path.join(os.tmpdir(), 'tat-logs-e2e-')), 'burst');
  t.after(() => fs.rm(path.dirname(burstFile), { recursive: true, force: true }));
  const sup = await startSupervisor({ profiles: ['a'], env: { NODE_OPTIONS: `--import=${PRELOAD}`, TAT_RAW_SECRET: SECRET, TAT_RAW_BURST: burstFile } });
  t.after(() => sup.cleanup());
  const a = (await sup.worker('a'))!;
  const signal = () => process.kill(a.pid!, 'SIGUSR2');
  const page = await chrome.newPage({ width: 1100, height: 600 });

  await t.test('the dashboard\'s "Logs" link opens the page, which shows the recent lines, readable', async () => {
    // Printed once the worker answers on its port (a loaded machine may delay it): the page opens after it.
    await sup.proc.waitForLine((l) => l.handle === 'a' && l.msg === 'raw line at start');
    await page.goto(`${sup.url}/`);
    await page.waitForSelector('#workers tr[data-handle="a"] a[data-action="logs"]');
    await Promise.all([page.waitForNavigation(), page.click('#workers tr[data-handle="a"] a[data-action="logs"]')]);
    assert.equal(new URL(page.url()).pathname + new URL(page.url()).search, '/logs?handle=a');
    await waitForText(page, '#live-state', 'live');
    assert.equal(await textOf(page, '#handle'), 'a');
    assert.ok(await page.$('header.top a[href="/"]'), 'a link back to all profiles');
    const lines = await entries(page);
    const start = lines.find((l) => l.msg.includes('listening on'));
    assert.ok(start, JSON.stringify(lines).slice(0, 1000));
    assert.equal(start.level, 'info');
    assert.match(start.text, /^\d\d:\d\d:\d\d\.\d{3}INFO/, start.text);
    const raw = lines.find((l) => l.msg === 'raw line at start')!;
    assert.equal(raw.level, 'warn');
    assert.match(raw.text, /password=\[redacted\]/);
    assert.match(raw.text, /config\.mis_password=\[redacted\]/);
    assert.ok(!raw.text.includes('{"'), `no JSON: ${raw.text}`);
    assert.ok(!(await page.content()).includes(SECRET));
    // colours: warn amber, info the normal ink
    const colour = (level: string) => page.$eval(`#lines > li.lv-${level} .log-level`, (n) => (globalThis as any).getComputedStyle(n).color);
    assert.equal(await colour('warn'), 'rgb(154, 103, 0)');
    assert.equal(await colour('info'), 'rgb(28, 36, 48)');
  });

  await t.test('a browser opening the JSON logs lands on the page', async () => {
    const other = await chrome.newPage();
    await other.goto(`${sup.url}/supervisor/api/workers/a/logs`);
    assert.equal(new URL(other.url()).pathname + new URL(other.url()).search, '/logs?handle=a');
    await waitForText(other, '#live-state', 'live');
    await other.close();
  });

  await t.test('a new line appears within a second; the same line again is counted, not repeated', async () => {
    const before = (await entries(page)).length;
    const asked = performance.now();
    signal();
    await page.waitForFunction(() => [...(globalThis as any).document.querySelectorAll('#lines .log-msg')].some((n: any) => n.textContent === 'raw line on signal'), { polling: 20, timeout: 3000 });
    assert.ok(performance.now() - asked < 1000, `took ${Math.round(performance.now() - asked)} ms`);
    signal();
    await waitForText(page, '#lines > li:last-child .log-count', '×2');
    signal();
    await waitForText(page, '#lines > li:last-child .log-count', '×3');
    const lines = await entries(page);
    assert.equal(lines.length, before + 1, 'one entry for the three lines');
    assert.equal(lines.at(-1)!.msg, 'raw line on signal');
  });

  await t.test('the level filter hides lower levels at once, without reloading', async () => {
    const marker = await page.evaluate(() => ((globalThis as any).__same = true));
    await page.select('#level', 'warn');
    let lines = await entries(page);
    assert.ok(lines.filter((l) => l.level === 'info').every((l) => !l.visible), 'info hidden');
    assert.ok(lines.filter((l) => l.level === 'warn').every((l) => l.visible), 'warn shown');
    await page.select('#level', 'error');
    assert.ok(await isVisible(page, '#empty'), 'says there is nothing at this level');
    await page.select('#level', 'all');
    lines = await entries(page);
    assert.ok(lines.every((l) => l.visible));
    assert.ok(!(await isVisible(page, '#empty')));
    assert.equal(await page.evaluate(() => (globalThis as any).__same), marker, 'the page was not reloaded');
    assert.match(page.url(), /level=all/);
  });

  await t.test('the view follows the newest lines, unless the person scrolled up', async () => {
    await fs.writeFile(burstFile, '80');
    signal();
    await waitForText(page, '#lines > li:last-child .log-msg', 'burst line 80');
    assert.ok(await page.$eval('#log-view', (v: any) => v.scrollHeight > v.clientHeight + 100), 'the lines overflow the view');
    await page.waitForFunction(() => {
      const v = (globalThis as any).document.getElementById('log-view');
      return v.scrollHeight - v.scrollTop - v.clientHeight < 30;
    }, { polling: 20, timeout: 2000 });
    // scrolled up: new lines do not pull the view down
    await page.$eval('#log-view', (v: any) => v.scrollTo(0, 0));
    await page.waitForFunction(() => (globalThis as any).document.getElementById('log-view').scrollTop === 0, { polling: 20 });
    signal();
    await waitForText(page, '#lines > li:last-child .log-msg', 'burst line 160');
    assert.equal(await page.$eval('#log-view', (v: any) => v.scrollTop), 0, 'still where the person scrolled');
    assert.ok(await isVisible(page, '#to-newest'));
    await page.click('#to-newest');
    assert.ok(await atBottom(page));
    assert.ok(!(await isVisible(page, '#to-newest')));
    await fs.writeFile(burstFile, '0');
  });

  await t.test('an unknown profile: a clear message', async () => {
    const other = await chrome.newPage();
    await other.goto(`${sup.url}/logs?handle=nobody`);
    const text = await waitForText(other, '#logs-error', 'no worker for "nobody"');
    assert.match(text, /not registered/);
    assert.ok(await isVisible(other, '#logs-error'));
    await other.goto(`${sup.url}/logs`);
    await waitForText(other, '#logs-error', 'No profile given');
    await other.close();
  });

  await t.test('on a phone the page fits the width', async () => {
    const phone = await chrome.newPage({ width: 390, height: 844 });
    await phone.goto(`${sup.url}/logs?handle=a`);
    await waitForText(phone, '#live-state', 'live');
    assert.ok(await phone.evaluate(() => (globalThis as any).document.documentElement.scrollWidth <= 390), 'no sideways scroll');
    await phone.close();
  });

  assert.deepEqual(chrome.pageErrors, []);
});
