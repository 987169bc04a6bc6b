// Helpers for the end-to-end suites (test/e2e): the project's two pages driven in a real Chromium.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { TestContext } from 'node:test';
import { launch, type Browser, type Page } from 'puppeteer-core';
import { makeConfigDir } from './config-dir.ts';
import { requireIntegration } from './integration.ts';
import { lastPort } from './ports.ts';
import { killGroup } from './processes.ts';
import { startSupervisor, type RunningSupervisor } from './supervisor.ts';

export const PHONE = { width: 390, height: 844 } as const;
export const DESKTOP = { width: 1280, height: 800 } as const;
/** Every page is checked at both. */
export const VIEWPORTS = [
  { name: 'desktop 1280×800', ...DESKTOP },
  { name: 'phone 390×844', ...PHONE },
] as const;

const CHROME_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-dev-shm-usage',
];

export interface E2eBrowser {
  browser: Browser;
  /** A new tab at `viewport` (desktop by default) that records page errors and failed console messages. */
  newPage(viewport?: { width: number; height: number }): Promise<Page>;
  /** JavaScript errors the pages threw (uncaught exceptions): every suite asserts there were none. */
  pageErrors: string[];
  close(): Promise<void>;
}

/** Launches Debian's Chromium (or `CHROME_PATH`) headless with its own temp profile dir; closed (and, if it
 *  does not close, killed with its process group) by `t.after`. `null` when the suite was skipped. `args`:
 *  more command-line switches (a proxy, host rules). */
export async function launchBrowser(t: TestContext, options: { args?: string[] } = {}): Promise<E2eBrowser | null> {
  const executablePath = process.env.CHROME_PATH || '/usr/bin/chromium';
  let available = true;
  try {
    fs.accessSync(executablePath, fs.constants.X_OK);
  } catch {
    available = false;
  }
  if (!requireIntegration(t, 'chromium', available, `${executablePath} is not an executable (install chromium or set CHROME_PATH)`)) return null;
  const userDataDir = await fsp.mkdtemp(path.join(os.tmpdir(), 'tat-e2e-chrome-'));
  const browser = await launch({ executablePath, headless: true, args: [...CHROME_ARGS, ...(options.args ?? [])], userDataDir, defaultViewport: DESKTOP });
  const pid = browser.process()?.pid;
  const pageErrors: string[] = [];
  let closed = false;
  const close = async () => {
    if (closed) return;
    closed = true;
    const timer = new Promise<'timeout'>((resolve) => setTimeout(() => resolve('timeout'), 5000).unref());
    const result = await Promise.race([browser.close().then(() => 'closed' as const, () => 'failed' as const), timer]);
    if (result !== 'closed' && pid) {
      // puppeteer starts Chrome in a process group of its own: end exactly that group.
      killGroup(pid);
    }
    await fsp.rm(userDataDir, { recursive: true, force: true }).catch(() => {});
  };
  t.after(close);
  return {
    browser,
    pageErrors,
    close,
    async newPage(viewport = DESKTOP) {
      const page = await browser.newPage();
      await page.setViewport(viewport);
      page.setDefaultTimeout(10_000);
      page.on('pageerror', (error) => pageErrors.push(`${page.url()}: ${(error as Error).message ?? String(error)}`));
      // The pages use confirm() for deletions: accept, as a person would.
      page.on('dialog', (dialog) => void dialog.accept().catch(() => {}));
      return page;
    },
  };
}

/** Text of an element (trimmed), '' when absent. */
export function textOf(page: Page, selector: string): Promise<string> {
  return page.$eval(selector, (node) => String((node as any).textContent ?? '').trim()).catch(() => '');
}

/** Waits until the element's text contains `needle`; returns the text. */
export async function waitForText(page: Page, selector: string, needle: string, timeout = 10_000): Promise<string> {
  try {
    await page.waitForFunction(
      (sel: string, n: string) => {
        const node = (globalThis as any).document.querySelector(sel);
        return Boolean(node && String(node.textContent).includes(n));
      },
      { timeout, polling: 50 },
      selector,
      needle,
    );
  } catch (error) {
    throw new Error(`"${selector}" never contained ${JSON.stringify(needle)}; it says ${JSON.stringify(await textOf(page, selector))} (${(error as Error).message})`);
  }
  return textOf(page, selector);
}

/** True when the element is rendered (not hidden, not display:none, has a box). */
export function isVisible(page: Page, selector: string): Promise<boolean> {
  // One evaluation: a page that rebuilds a row between a query and a second round trip would leave a
  // detached node, which has no box.
  return page
    .evaluate((sel: string) => {
      const n = (globalThis as any).document.querySelector(sel);
      if (!n) return false;
      const box = n.getBoundingClientRect();
      const style = (globalThis as any).getComputedStyle(n);
      return !n.closest('[hidden]') && style.visibility !== 'hidden' && style.display !== 'none' && box.width > 0 && box.height > 0;
    }, selector)
    .catch(() => false);
}

/** `document.documentElement.scrollWidth` and `window.innerWidth`: no horizontal scrolling when the first is
 *  not larger. `culprits`: elements that stick out of the viewport or out of their card (`section.card`),
 *  unless they sit in a box that scrolls or clips them (a wide CSV preview scrolls inside its own box). */
export async function horizontalOverflow(page: Page): Promise<{ scrollWidth: number; innerWidth: number; culprits: string[] }> {
  return page.evaluate(() => {
    const g = globalThis as any;
    const doc = g.document;
    const innerWidth = g.innerWidth as number;
    const culprits: string[] = [];
    const name = (node: any) =>
      `${node.tagName.toLowerCase()}${node.id ? `#${node.id}` : ''}${node.className && typeof node.className === 'string' ? `.${node.className.trim().split(/\s+/).join('.')}` : ''}`;
    const clipped = (node: any, until: any) => {
      for (let n = node.parentElement; n && n !== until; n = n.parentElement) {
        if (['auto', 'scroll', 'hidden', 'clip'].includes(g.getComputedStyle(n).overflowX)) return true;
      }
      return false;
    };
    for (const node of doc.querySelectorAll('body *')) {
      const r = node.getBoundingClientRect();
      if (r.width === 0 || r.height === 0) continue;
      const card = node.closest('section.card');
      const limit = card && card !== node ? card.getBoundingClientRect().right : innerWidth;
      if (r.right > limit + 0.5 && !clipped(node, card ?? doc.body)) {
        culprits.push(`${name(node)} right=${Math.round(r.right)} > ${card && card !== node ? `its card's ${Math.round(limit)}` : `viewport ${innerWidth}`}`);
      }
    }
    return { scrollWidth: doc.documentElement.scrollWidth as number, innerWidth, culprits: culprits.slice(0, 8) };
  });
}

/** The page does not scroll sideways, nothing sticks out of it or of its card, and each of `buttons` is
 *  on screen, uncovered and clickable (reaching them must not scroll sideways either). */
export async function assertUsable(page: Page, what: string, buttons: string[] = []): Promise<void> {
  const overflow = await horizontalOverflow(page);
  assert.ok(
    overflow.scrollWidth <= overflow.innerWidth,
    `${what}: scrolls sideways (scrollWidth ${overflow.scrollWidth} > ${overflow.innerWidth}); sticking out: ${overflow.culprits.join(', ')}`,
  );
  assert.deepEqual(overflow.culprits, [], `${what}: nothing sticks out of the page or of its card`);
  for (const selector of buttons) {
    assert.deepEqual(await clickabilityProblems(page, selector), [], `${what}: ${selector}`);
  }
  const after = await horizontalOverflow(page);
  assert.equal(await page.evaluate(() => (globalThis as any).scrollX as number), 0, `${what}: scrolled sideways to reach a button`);
  assert.ok(after.scrollWidth <= after.innerWidth, `${what}: ${after.culprits.join(', ')}`);
  assert.deepEqual(after.culprits, [], what);
}

/** For each element matching `selector` (at least one must): scrolled into view, it has a box (a button at
 *  least 24 px tall), lies within the viewport's width, is the topmost element at its centre (nothing covers
 *  it), and is enabled.
 *  Returns one line per problem (empty: all clickable). */
export async function clickabilityProblems(page: Page, selector: string): Promise<string[]> {
  return page.evaluate((sel: string) => {
    const g = globalThis as any;
    const nodes = [...g.document.querySelectorAll(sel)] as any[];
    if (nodes.length === 0) return [`nothing matches ${sel}`];
    const problems: string[] = [];
    for (const node of nodes) {
      const name = `${sel} "${String(node.textContent).trim()}"`;
      node.scrollIntoView({ block: 'center', inline: 'nearest' });
      const r = node.getBoundingClientRect();
      if (r.width < 1 || r.height < 1) {
        problems.push(`${name} has no box`);
        continue;
      }
      if (r.left < 0 || r.right > g.innerWidth + 0.5) problems.push(`${name} sticks out of the viewport (${Math.round(r.left)}..${Math.round(r.right)} of ${g.innerWidth})`);
      if (node.tagName === 'BUTTON' && r.height < 24) problems.push(`${name} is only ${r.height}px tall`);
      const top = g.document.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2);
      if (!top || (top !== node && !node.contains(top))) problems.push(`${name} is covered by ${top ? top.tagName : 'nothing'}`);
      if (node.disabled) problems.push(`${name} is disabled`);
    }
    return problems;
  }, selector);
}

/** Every response body the page received from an API route (`/api/`), for secret scans. */
export function recordApiBodies(page: Page): string[] {
  const bodies: string[] = [];
  page.on('response', (response) => {
    if (!/\/api\//.test(response.url())) return;
    void response.text().then(
      (text) => bodies.push(`${response.url()} ${text}`),
      () => {},
    );
  });
  return bodies;
}

export const SCREENSHOT_DIR = path.resolve(import.meta.dirname, '../../docs/screenshots');

/** A MIS-like daily discount CSV: many columns, as the real export has. */
export const SAMPLE_CSV = [
  'Product Name,Brand,Category,SKU,Strain Type,THC %,CBD %,Unit Price,Discount %,Sale Price,Quantity On Hand,Location,Vendor,Last Updated',
  'Blue Dream 3.5g,Artist Tree,Flower,AT-BD-35,Hybrid,22.1,0.1,35.00,20,28.00,48,Los Angeles,Artist Tree Farms,2024-05-01',
  'Sour Diesel Pre-Roll 1g,Artist Tree,Pre-Rolls,AT-SD-PR1,Sativa,19.4,0.0,12.00,15,10.20,120,Los Angeles,Artist Tree Farms,2024-05-01',
  'Calm Gummies 10pk,Kiva,Edibles,KV-CG-10,Indica,5.0,5.0,22.00,10,19.80,64,Studio City,Kiva Confections,2024-05-02',
].join('\n');

export interface DemoSupervisor {
  sup: RunningSupervisor;
  /** The port held by another program, on which "broken.port" cannot start. */
  heldPort: number;
}

/** A supervisor with several profiles: `nick.tat` (current, MIS credentials saved, a CSV loaded), `store-la`,
 *  `store-sf`, and `broken.port`, whose pinned port (ports.json) is the last one there is and another program holds it, so it ends `errored`
 *  (MAX_RESTARTS=2). Everything is cleaned up by `t.after`. */
export async function startDemoSupervisor(t: TestContext): Promise<DemoSupervisor> {
  const config = await makeConfigDir({ profiles: ['nick.tat', 'store-la', 'store-sf', 'broken.port'] });
  t.after(() => config.remove());
  const heldPort = await lastPort(t, { hold: true });
  await config.writeJson('ports.json', { 'broken.port': heldPort });
  await config.writeJson('last_profile.json', { last_profile: 'nick.tat' });
  const sup = await startSupervisor({
    config,
    env: { STOP_TIMEOUT_MS: '3000', MAX_RESTARTS: '2' },
    waitReady: ['nick.tat', 'store-la', 'store-sf'],
  });
  t.after(() => sup.cleanup());
  const saved = await sup.post('/p/nick.tat/api/save-profile-credentials', {
    mis_username: 'nick@theartisttree.com',
    mis_password: 'demo-password-not-shown',
    google_sheet_url: 'https://docs.google.com/spreadsheets/d/1AbCdEfGhIjKlMnOpQrStUvWxYz0123456789/edit',
  });
  if (saved.status !== 200) throw new Error(`saving demo credentials failed: ${saved.text}`);
  const uploaded = await sup.request('POST', '/p/nick.tat/api/mis/upload-csv', {
    headers: { 'content-type': 'text/csv' },
    body: SAMPLE_CSV,
  });
  if (uploaded.status !== 201) throw new Error(`uploading the demo CSV failed: ${uploaded.text}`);
  await sup.waitForState('broken.port', 'errored', 15_000);
  return { sup, heldPort };
}
