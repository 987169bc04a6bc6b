import fs from 'node:fs/promises';
import path from 'node:path';
import type { Page } from 'puppeteer-core';
import { ApiError } from '../../shared/api-error.ts';
import type { Logger } from '../../shared/logger.ts';
import { timestamp } from './csv-report.ts';

// The MIS web app's page contract (from the original): login form, logged-in marker, CSV export button.
const EMAIL = 'input[name=email]';
const PASSWORD = 'input[name=password]';
const SUBMIT = 'button[type=submit]';
const LOGGED_IN = '#daily-discount';
const CSV_BUTTON = 'button.buttons-csv';

export const DOWNLOAD_TIMEOUT_MS = 60_000;
const LOGIN_TIMEOUT_MS = 20_000;

/** Drives the MIS web app in this profile's Chrome page. */
export class MisClient {
  readonly #log: Logger;

  constructor(log: Logger) {
    this.#log = log;
  }

  /** Opens the MIS and logs in unless the profile's Chrome session already is. */
  async login(page: Page, misUrl: string, username: string, password: string): Promise<'logged_in' | 'already_logged_in'> {
    try {
      await page.goto(misUrl, { waitUntil: 'domcontentloaded', timeout: LOGIN_TIMEOUT_MS });
    } catch (error) {
      throw new ApiError(502, 'mis_login_failed', `the MIS at ${misUrl} could not be opened: ${firstLine(error)}`);
    }
    if (await page.$(LOGGED_IN)) return 'already_logged_in';
    try {
      await page.waitForSelector(EMAIL, { timeout: LOGIN_TIMEOUT_MS });
    } catch {
      throw new ApiError(502, 'mis_login_failed', `the MIS page at ${misUrl} shows neither the login form nor the daily discount table`);
    }
    await page.locator(EMAIL).fill(username);
    await page.locator(PASSWORD).fill(password);
    await Promise.all([page.waitForNavigation({ timeout: LOGIN_TIMEOUT_MS, waitUntil: 'domcontentloaded' }).catch(() => null), page.click(SUBMIT)]);
    try {
      await page.waitForSelector(LOGGED_IN, { timeout: 5_000 });
    } catch {
      throw new ApiError(401, 'mis_login_failed', 'the MIS refused the login: check the MIS username and password saved for this profile');
    }
    this.#log.info({ mis_url: misUrl }, 'logged into the MIS');
    return 'logged_in';
  }

  /** Clicks the CSV export and waits (bounded) for the file in the profile's own download folder, then
   *  names it `MIS_CSV_REPORT_<timestamp>.csv`. */
  async exportCsv(page: Page, downloadsDir: string, timeoutMs = DOWNLOAD_TIMEOUT_MS): Promise<string> {
    if (!(await page.$(CSV_BUTTON))) {
      throw new ApiError(409, 'invalid_state', 'the MIS page has no CSV export button: log in first (POST /api/init-all)');
    }
    await fs.mkdir(downloadsDir, { recursive: true });
    const before = new Set(await fs.readdir(downloadsDir));
    await page.click(CSV_BUTTON);
    const deadline = performance.now() + timeoutMs;
    for (;;) {
      const fresh = (await fs.readdir(downloadsDir)).filter((f) => !before.has(f) && !f.endsWith('.crdownload') && !f.startsWith('.'));
      const done = fresh.find((f) => f.toLowerCase().endsWith('.csv')) ?? fresh[0];
      if (done) {
        const target = path.join(downloadsDir, `MIS_CSV_REPORT_${timestamp()}.csv`);
        await fs.rename(path.join(downloadsDir, done), target);
        this.#log.info({ file: path.basename(target) }, 'MIS CSV downloaded');
        return target;
      }
      if (performance.now() > deadline) {
        throw new ApiError(504, 'automation_timeout', `the MIS CSV did not arrive in the download folder within ${Math.round(timeoutMs / 1000)} s`);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}


function firstLine(error: unknown): string {
  return ((error as Error).message ?? String(error)).split('\n')[0]!;
}
