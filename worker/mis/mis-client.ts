import fs from 'node:fs/promises';
import path from 'node:path';
import type { Page } from 'puppeteer-core';
import { ApiError } from '../../shared/http/api-error.ts';
import { originOf } from '../../shared/profiles/blaze-config.ts';
import type { Logger } from '../../shared/runtime/logger.ts';
import type { Work } from '../work/work-in-progress.ts';
import { timestamp } from './csv-report.ts';
import { finishedDownload } from './finished-download.ts';

// The MIS web app's page contract (from the original): login form, logged-in marker, CSV export button.
const EMAIL = 'input[name=email]';
const PASSWORD = 'input[name=password]';
const SUBMIT = 'button[type=submit]';
const LOGGED_IN = '#daily-discount';
const CSV_BUTTON = 'button.buttons-csv';

export const DOWNLOAD_TIMEOUT_MS = 60_000;
/** The export is clicked again when its file has not come after a third of the wait. */
export const EXPORT_ATTEMPTS = 3;
const LOGIN_TIMEOUT_MS = 20_000;
const CHECK_FIX = 'check the MIS URL saved for this profile (MIS / Blaze settings) and that this server can reach it';

/** Drives the MIS web app in this profile's Chrome page. Each step says its stage and stops when the work
 *  is cancelled. */
export class MisClient {
  readonly #log: Logger;
  readonly #apiBase: string;
  /** A cancelled step's page still being stopped: the next step waits for it (at most its 1 s), so that the
   *  blank page it loads does not land in the middle of that step. */
  #stopping: Promise<void> = Promise.resolve();

  constructor(log: Logger, apiBase: string) {
    this.#log = log;
    this.#apiBase = apiBase;
  }

  /** Opens the MIS and logs in unless the profile's Chrome session already is. The password is typed only
   *  into a page of the origin it was saved for (`passwordFor`), wherever the MIS may have sent Chrome. */
  async login(page: Page, sign: { url: string; username: string; password: string; passwordFor: string }, work: Work): Promise<'logged_in' | 'already_logged_in'> {
    const { url: misUrl, username, password } = sign;
    const signal = work.signal;
    await this.#stopping;
    work.stage('opening the MIS');
    // A cancel while a page hangs: stop loading it, so Chrome is free for what comes next.
    const stopLoading = work.onCancel(() => {
      this.#stopping = page.goto('about:blank', { timeout: 1_000 }).then(
        () => {},
        () => {},
      );
      return this.#stopping;
    });
    try {
      try {
        await page.goto(misUrl, { waitUntil: 'domcontentloaded', timeout: LOGIN_TIMEOUT_MS, signal });
      } catch (error) {
        work.throwIfCancelled();
        throw new ApiError(502, 'mis_login_failed', `the MIS at ${misUrl} could not be opened (${reasonOf(error)}): ${CHECK_FIX}`);
      }
      if (await page.$(LOGGED_IN)) return 'already_logged_in';
      try {
        await page.waitForSelector(EMAIL, { timeout: LOGIN_TIMEOUT_MS, signal });
      } catch {
        work.throwIfCancelled();
        throw new ApiError(502, 'mis_login_failed', `the page at ${misUrl} shows neither the MIS login form nor the daily discount table: ${CHECK_FIX}`);
      }
      const at = originOf(page.url());
      if (at !== sign.passwordFor) {
        throw new ApiError(502, 'mis_login_failed', `the MIS sent Chrome to ${at} to sign in; the MIS password saved for ${sign.passwordFor} is typed nowhere else: ${CHECK_FIX}`);
      }
      work.stage('signing in');
      await page.locator(EMAIL).fill(username, { signal });
      await page.locator(PASSWORD).fill(password, { signal });
      await Promise.all([page.waitForNavigation({ timeout: LOGIN_TIMEOUT_MS, waitUntil: 'domcontentloaded', signal }).catch(() => null), page.click(SUBMIT)]);
      work.throwIfCancelled();
      try {
        await page.waitForSelector(LOGGED_IN, { timeout: 5_000, signal });
      } catch {
        work.throwIfCancelled();
        throw new ApiError(401, 'mis_login_failed', 'the MIS refused the login: check the MIS username and password saved for this profile');
      }
      this.#log.info({ mis_url: misUrl }, 'logged into the MIS');
      return 'logged_in';
    } finally {
      stopLoading();
    }
  }

  /** Clicks the CSV export and waits (bounded) for the file in the profile's own download folder, clicking
   *  again when it does not come, then names it `MIS_CSV_REPORT_<timestamp>.csv`. Cancelled, it removes
   *  what the export had begun writing. */
  async exportCsv(page: Page, downloadsDir: string, work: Work, timeoutMs = DOWNLOAD_TIMEOUT_MS): Promise<string> {
    await this.#stopping;
    if (!(await page.$(CSV_BUTTON))) {
      throw new ApiError(409, 'invalid_state', `the MIS page has no CSV export button: log in first ("Start browser + MIS login", or POST ${this.#apiBase}/init-all)`);
    }
    await fs.mkdir(downloadsDir, { recursive: true });
    const before = new Set(await fs.readdir(downloadsDir));
    const fresh = async () => (await fs.readdir(downloadsDir)).filter((f) => !before.has(f));
    const removePartial = work.onCancel(async () => {
      for (const f of await fresh()) await fs.rm(path.join(downloadsDir, f), { force: true });
    });
    try {
      const perAttempt = timeoutMs / EXPORT_ATTEMPTS;
      const sizes = new Map<string, number>();
      for (let attempt = 1; attempt <= EXPORT_ATTEMPTS; attempt++) {
        work.stage('waiting for the export', { n: attempt, of: EXPORT_ATTEMPTS });
        if (attempt > 1) this.#log.warn({ attempt, of: EXPORT_ATTEMPTS }, 'the MIS CSV has not arrived yet; clicking the export again');
        await page.click(CSV_BUTTON);
        const deadline = performance.now() + perAttempt;
        while (performance.now() < deadline) {
          work.throwIfCancelled();
          const entries = await Promise.all((await fresh()).map(async (name) => ({ name, size: (await fs.stat(path.join(downloadsDir, name)).catch(() => null))?.size ?? 0 })));
          const file = finishedDownload(entries, sizes);
          if (file) {
            work.stage('saving the CSV');
            const target = path.join(downloadsDir, `MIS_CSV_REPORT_${timestamp()}.csv`);
            await fs.rename(path.join(downloadsDir, file), target);
            this.#log.info({ file: path.basename(target), attempt }, 'MIS CSV downloaded');
            return target;
          }
          await new Promise((r) => setTimeout(r, 100));
        }
      }
      throw new ApiError(504, 'automation_timeout', `the MIS CSV did not arrive in the download folder within ${Math.round(timeoutMs / 1000)} s (${EXPORT_ATTEMPTS} tries): check that the MIS export works in a browser, then pull again`);
    } finally {
      removePartial();
    }
  }
}

/** Puppeteer's reason without the URL it repeats ("net::ERR_CONNECTION_REFUSED at http://…"). */
function reasonOf(error: unknown): string {
  const first = ((error as Error).message ?? String(error)).split('\n')[0]!;
  return first.replace(/ at \S+$/, '').replace(/^Navigation timeout of (\d+) ms exceeded$/, (_m, ms) => `no answer within ${Math.round(Number(ms) / 1000)} s`);
}
