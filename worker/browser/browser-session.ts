import type { Browser, Page } from 'puppeteer-core';
import { ApiError } from '../../shared/api-error.ts';
import { ensureDir } from '../../shared/json-file.ts';
import type { Logger } from '../../shared/logger.ts';
import { findChrome } from './chrome-path.ts';

export interface BrowserSessionOptions {
  chromePath: string | undefined;
  headless: boolean;
  userDataDir: string;
  downloadsDir: string;
  log: Logger;
  /** Chrome's pid when it starts, null when it is gone (the supervisor kills it if the worker dies). */
  onPid(pid: number | null): void;
}

/** This profile's Chrome: its own user-data dir and download folder, launched on demand only, closed on
 *  stop. A Chrome that crashes is noticed and reported, never left half-open. */
export class BrowserSession {
  readonly #o: BrowserSessionOptions;
  #browser: Browser | null = null;
  #launching: Promise<Browser> | null = null;
  #page: Page | null = null;
  #lastCrash: string | null = null;
  /** The MIS this Chrome logged into, while it stays open. */
  #misUrl: string | null = null;

  constructor(options: BrowserSessionOptions) {
    this.#o = options;
  }

  get ready(): boolean {
    return this.#browser?.connected ?? false;
  }

  status() {
    return {
      ready: this.ready,
      instance: this.ready ? { pid: this.#browser!.process()?.pid ?? null, user_data_dir: this.#o.userDataDir, download_dir: this.#o.downloadsDir } : null,
      mis_logged_in: this.ready && this.#misUrl !== null,
      mis_url: this.ready ? this.#misUrl : null,
      last_crash: this.#lastCrash,
    };
  }

  /** The page logged into the MIS at `url`. */
  markLoggedIn(url: string): void {
    this.#misUrl = url;
  }

  browser(): Promise<Browser> {
    if (this.#browser?.connected) return Promise.resolve(this.#browser);
    this.#launching ??= this.#launch().finally(() => {
      this.#launching = null;
    });
    return this.#launching;
  }

  /** The one page automations use (created on first use, replaced if it was closed). */
  async page(): Promise<Page> {
    const browser = await this.browser();
    if (this.#page && !this.#page.isClosed()) return this.#page;
    const [existing] = await browser.pages();
    this.#page = existing ?? (await browser.newPage());
    this.#page.setDefaultTimeout(20_000);
    return this.#page;
  }

  async close(): Promise<void> {
    const browser = this.#browser;
    this.#browser = null;
    this.#page = null;
    this.#misUrl = null;
    if (!browser) return;
    const proc = browser.process();
    try {
      await Promise.race([browser.close(), new Promise((r) => setTimeout(r, 5000))]);
    } finally {
      if (proc && proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
      this.#o.onPid(null);
    }
  }

  async #launch(): Promise<Browser> {
    const executablePath = findChrome(this.#o.chromePath);
    if (!executablePath) {
      throw new ApiError(
        503,
        'browser_unavailable',
        this.#o.chromePath
          ? `CHROME_PATH ${this.#o.chromePath} is not an executable file`
          : 'no Chrome or Chromium found: install one (Debian: apt-get install chromium) or set CHROME_PATH',
      );
    }
    await Promise.all([ensureDir(this.#o.userDataDir, true), ensureDir(this.#o.downloadsDir, true)]);
    const { launch } = await import('puppeteer-core'); // loaded only when a browser is first needed
    const args = [
      '--no-first-run',
      '--no-default-browser-check',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--disable-dev-shm-usage',
      '--disable-quic',
    ];
    // Chrome refuses its sandbox as root (containers, CI); elsewhere the sandbox stays on.
    if (process.getuid?.() === 0) args.push('--no-sandbox');
    let browser: Browser;
    try {
      browser = await launch({
        executablePath,
        headless: this.#o.headless,
        userDataDir: this.#o.userDataDir,
        args,
        // A pipe, not a port: Chrome exits by itself when this worker dies and its end of the pipe closes.
        pipe: true,
        handleSIGINT: false,
        handleSIGTERM: false,
        handleSIGHUP: false,
        timeout: 30_000,
        defaultViewport: { width: 1366, height: 900 },
        downloadBehavior: { policy: 'allow', downloadPath: this.#o.downloadsDir },
      });
    } catch (error) {
      this.#o.log.error({ err: error }, 'Chrome did not start');
      throw new ApiError(503, 'browser_unavailable', `Chrome did not start: ${(error as Error).message.split('\n')[0]}`);
    }
    const pid = browser.process()?.pid ?? null;
    this.#o.onPid(pid);
    this.#lastCrash = null;
    browser.once('disconnected', () => {
      if (this.#browser !== browser) return; // closed on purpose
      this.#browser = null;
      this.#page = null;
      this.#misUrl = null;
      this.#lastCrash = new Date().toISOString();
      this.#o.log.error({ pid }, 'Chrome exited unexpectedly; it is started again on the next automation');
      this.#o.onPid(null);
    });
    this.#browser = browser;
    this.#o.log.info({ pid, headless: this.#o.headless }, 'Chrome started');
    return browser;
  }
}
