// A profile with work to lose, reached through a supervisor on `port`: Google connected (through the
// supervisor's OAuth flow, at a fake Google), a spreadsheet loaded, MIS credentials saved, Chrome logged into a
// fake MIS, an MIS CSV pulled. `snapshot()` is that work as the API shows it; after a restart of any kind,
// `waitRestored()` waits for the new worker to have brought it back, and the two snapshots must be equal.
import assert from 'node:assert/strict';
import { startFakeGoogle, type FakeGoogle } from '../fixtures/fake-google.ts';
import { startFakeMis, type FakeMis } from '../fixtures/fake-mis.ts';
import { makeConfigDir, type TestConfigDir } from './config-dir.ts';
import { useFakeGoogle } from './google.ts';
import { waitFor } from './processes.ts';
import { request, requestUrl, type Reply } from './http.ts';
import { chromiumAvailability, killProcessesMentioning } from './chromium.ts';

export const SHEET_ID = '1RestoreSheet_0123456789abcdef';
export const MIS_ACCOUNT = { email: 'lisa@theartisttree.com', password: 'mis-pass-Lisa-7c1' };

export interface Work {
  csv: { file: string; columns: string[]; row_count: number };
  spreadsheet: { id: string; tabs: string[] };
  /** A read through the Sheets connection. */
  values: unknown[][];
  browser: { ready: boolean; mis_logged_in: boolean };
}

export interface Fixtures {
  config: TestConfigDir;
  google: FakeGoogle;
  mis: FakeMis;
  chrome: ReturnType<typeof chromiumAvailability>;
  /** Settings for a supervisor that uses these fakes. */
  env: Record<string, string>;
  close(): Promise<void>;
}

/** The fakes and a config dir with `profiles`, the first of which is connected to the fake Google. */
export async function restoreFixtures(profiles: string[]): Promise<Fixtures> {
  const chrome = chromiumAvailability();
  const google = await startFakeGoogle();
  google.addSpreadsheet(SHEET_ID, { title: 'Daily discounts', sheets: [{ title: 'Week', rows: [['SKU', 'Discount'], ['A-100', '15']] }, { title: 'Month', rows: [['x']] }] });
  const mis = await startFakeMis({ accounts: { [MIS_ACCOUNT.email]: MIS_ACCOUNT.password } });
  const config = await makeConfigDir({ profiles });
  await useFakeGoogle(config, google, profiles[0]!);
  return {
    config,
    google,
    mis,
    chrome,
    env: { GOOGLE_API_ROOT: google.url, MIS_URL: mis.misUrl, CHROME_PATH: chrome.path, STOP_TIMEOUT_MS: '8000' },
    async close() {
      killProcessesMentioning(config.file('chrome'));
      await google.close();
      await mis.close();
      await config.remove();
    },
  };
}

export function api(port: () => number) {
  const call = (method: string, path: string, body?: unknown, headers?: Record<string, string>) => request(port(), method, path, { body, headers, timeoutMs: 150_000 });
  return {
    get: (path: string, headers?: Record<string, string>) => call('GET', path, undefined, headers),
    post: (path: string, body?: unknown) => call('POST', path, body),
  };
}
export type Api = ReturnType<typeof api>;

/** Gives profile `h` its work: Google, the spreadsheet, MIS credentials, Chrome logged in, a pulled CSV. */
export async function giveWork(client: Api, fixtures: Fixtures, h: string): Promise<void> {
  const ok = (r: Reply, what: string) => assert.ok(r.status >= 200 && r.status < 300, `${what}: ${r.status} ${r.text}`);
  const start = await client.post(`/p/${h}/api/auth/google`);
  ok(start, 'start the Google flow');
  const consent = await requestUrl(start.body.auth_url);
  const callback = new URL(consent.headers.location!);
  ok(await client.get(`${callback.pathname}${callback.search}`, { accept: 'text/html' }), 'the OAuth callback');
  ok(await client.post(`/p/${h}/api/mis/load-sheet`, { spreadsheet_id: SHEET_ID }), 'load the spreadsheet');
  ok(await client.post(`/p/${h}/api/save-profile-credentials`, { mis_username: MIS_ACCOUNT.email, mis_password: MIS_ACCOUNT.password }), 'save MIS credentials');
  ok(await client.post(`/p/${h}/api/init-all`), 'init-all');
  ok(await client.post(`/p/${h}/api/mis/pull-csv`), 'pull the MIS CSV');
}

/** The profile's work as the API shows it. */
export async function snapshot(client: Api, h: string): Promise<Work> {
  const csv = await client.get(`/p/${h}/api/mis/csv`);
  assert.equal(csv.status, 200, `the CSV: ${csv.text}`);
  const sheet = await client.get(`/p/${h}/api/sheets`);
  assert.equal(sheet.status, 200, `the spreadsheet: ${sheet.text}`);
  const values = await client.get(`/p/${h}/api/sheets/values?tab=Week&range=A1:B2`);
  assert.equal(values.status, 200, `the Sheets connection: ${values.text}`);
  const browser = await client.get(`/p/${h}/api/browser-status`);
  assert.equal(browser.status, 200, browser.text);
  return {
    csv: { file: csv.body.file, columns: csv.body.columns, row_count: csv.body.row_count },
    spreadsheet: { id: sheet.body.spreadsheet_id, tabs: sheet.body.tabs.map((t: { title: string }) => t.title) },
    values: values.body.values,
    browser: { ready: browser.body.ready, mis_logged_in: browser.body.mis_logged_in },
  };
}

/** Waits for a worker of `h` other than `notPid` to have finished its restore; returns its /healthz. */
export async function waitRestored(client: Api, h: string, notPid: number | null, timeoutMs = 30_000): Promise<any> {
  return waitFor(
    `the new worker of ${h} to finish its restore`,
    async () => {
      const workers = (await client.get('/supervisor/api/workers')).body.workers as { handle: string; pid: number | null; state: string }[];
      const w = workers.find((x) => x.handle === h);
      if (!w || w.state !== 'ready' || !w.pid || w.pid === notPid) return null;
      const health = await client.get(`/p/${h}/healthz`);
      return health.body.restore?.state === 'done' ? { ...health.body, pid: w.pid } : null;
    },
    timeoutMs,
  );
}

export async function pidOf(client: Api, h: string): Promise<number> {
  const workers = (await client.get('/supervisor/api/workers')).body.workers as { handle: string; pid: number | null }[];
  const pid = workers.find((x) => x.handle === h)?.pid;
  assert.ok(pid, `no running worker for ${h}`);
  return pid;
}
