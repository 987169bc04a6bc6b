import type { Browser, Page } from 'puppeteer-core';
import { ApiError } from '../../shared/http/api-error.ts';
import { ensureDir } from '../../shared/files/json-file.ts';
import type { Logger } from '../../shared/runtime/logger.ts';
import { chromeEnvironment, findChrome } from './chrome-path.ts';

export interface BrowserSessionOptions {
  chromePath: string | undefined;
  headless: boolean;
  userDataDir: string;
  downloadsDir: string;
  log: Logger;
  /** Chrome's pid when it starts, null when it is gone (the supervisor kills it if the worker dies). */
  onPid(pid: number | null): void;
  /** Anything in `status()` changed (the pages follow it live). */
  onChange(status: BrowserStatus): void;
}

/** Where the MIS sign-in of this Chrome stands. */
export interface MisLogin {
  state: 'signing-in' | 'logged-in' | 'failed';
  url: string;
  error: string | null;
}

export interface BrowserStatus {
  ready: boolean;
  /** What Chrome is doing: true at every moment (the pages say "starting" while it starts). */
  state: 'not started' | 'starting' | 'running' | 'closing';
  instance: { pid: number | null; user_data_dir: string; download_dir: string } | null;
  mis_logged_in: boolean;
  mis_url: string | null;
  mis: MisLogin | null;
  last_crash: string | null;
}

/** This profile's Chrome: its own user-data dir and download folder, launched on demand only, closed on
 *  stop. A Chrome that crashes is noticed and reported, never left half-open. */
export class BrowserSession {
  readonly #o: BrowserSessionOptions;
  #browser: Browser | null = null;
  #launching: Promise<Browser> | null = null;
  #page: Page | null = null;
  #lastCrash: string | null = null;
  #closing = false;
  /** The MIS sign-in of this Chrome, while it stays open. */
  #mis: MisLogin | null = null;

  constructor(options: BrowserSessionOptions) {
    this.#o = options;
  }

  get ready(): boolean {
    return this.#browser?.connected ?? false;
  }

  status(): BrowserStatus {
    const ready = this.ready;
    const mis = ready ? this.#mis : null;
    return {
      ready,
      state: this.#closing ? 'closing' : ready ? 'running' : this.#launching ? 'starting' : 'not started',
      instance: ready ? { pid: this.#browser!.process()?.pid ?? null, user_data_dir: this.#o.userDataDir, download_dir: this.#o.downloadsDir } : null,
      mis_logged_in: mis?.state === 'logged-in',
      mis_url: mis?.state === 'logged-in' ? mis.url : null,
      mis,
      last_crash: this.#lastCrash,
    };
  }

  /** Where the MIS sign-in stands (signing in, logged in at `url`, or failed and why). */
  setMis(mis: MisLogin | null): void {
    this.#mis = mis;
    this.#changed();
  }

  /** Chrome, started if needed; `signal` aborts a start under way (and closes what it started). */
  browser(signal?: AbortSignal): Promise<Browser> {
    if (this.#browser?.connected) return Promise.resolve(this.#browser);
    if (!this.#launching) {
      this.#launching = this.#launch(signal).finally(() => {
        this.#launching = null;
        this.#changed();
      });
      this.#changed();
    }
    return this.#launching;
  }

  /** The one page automations use (created on first use, replaced if it was closed). */
  async page(signal?: AbortSignal): Promise<Page> {
    const browser = await this.browser(signal);
    if (this.#page && !this.#page.isClosed()) return this.#page;
    const [existing] = await browser.pages();
    this.#page = existing ?? (await browser.newPage());
    this.#page.setDefaultTimeout(20_000);
    return this.#page;
  }

  /** Closes Chrome: politely for up to `graceMs`, then SIGKILL. */
  async close(graceMs = 5000): Promise<void> {
    const browser = this.#browser;
    this.#browser = null;
    this.#page = null;
    this.#mis = null;
    if (!browser) return;
    const proc = browser.process();
    this.#closing = true;
    this.#changed();
    try {
      await Promise.race([browser.close(), new Promise((r) => setTimeout(r, graceMs))]);
    } finally {
      if (proc && proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
      this.#closing = false;
      this.#o.onPid(null);
      this.#changed();
    }
  }

  #changed(): void {
    this.#o.onChange(this.status());
  }

  async #launch(signal?: AbortSignal): Promise<Browser> {
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
    // puppeteer ends the browser when its launch signal aborts, also after the launch: it gets a signal of
    // its own that follows the work's only while Chrome comes up.
    const launching = new AbortController();
    const abortLaunch = () => launching.abort(signal?.reason);
    if (signal?.aborted) abortLaunch();
    else signal?.addEventListener('abort', abortLaunch, { once: true });
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
        // Chrome and everything it starts get what a browser needs of the environment, nothing else.
        env: chromeEnvironment(process.env),
        signal: launching.signal,
      });
    } catch (error) {
      if (signal?.aborted) throw error;
      // Expected where Chrome is missing or broken: a warning with the reason, no stack.
      const reason = (error as Error).message.split('\n')[0];
      this.#o.log.warn({ error: 'browser_unavailable', reason, chrome: executablePath }, 'Chrome did not start');
      throw new ApiError(503, 'browser_unavailable', `Chrome did not start: ${reason}`);
    }
    signal?.removeEventListener('abort', abortLaunch);
    const pid = browser.process()?.pid ?? null;
    this.#o.onPid(pid);
    this.#lastCrash = null;
    browser.once('disconnected', () => {
      if (this.#browser !== browser) return; // closed on purpose
      this.#browser = null;
      this.#page = null;
      this.#mis = null;
      this.#lastCrash = new Date().toISOString();
      this.#o.log.error({ pid }, 'Chrome exited unexpectedly; it is started again on the next automation');
      this.#o.onPid(null);
      this.#changed();
    });
    if (signal?.aborted) {
      // Cancelled while Chrome came up: it goes at once.
      await browser.close().catch(() => browser.process()?.kill('SIGKILL'));
      this.#o.onPid(null);
      signal.throwIfAborted();
    }
    this.#browser = browser;
    this.#o.log.info({ pid, headless: this.#o.headless }, 'Chrome started');
    return browser;
  }
}
