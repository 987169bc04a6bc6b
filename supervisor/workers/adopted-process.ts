import { LinkedProcess, type Exit, type ProcessHooks } from './linked-process.ts';
import type { Linked } from './worker-links.ts';
import { isSameProcess, type WorkerRecord } from './worker-records.ts';

/** How often an adopted worker that is not this supervisor's child is looked at while it may be going. */
const POLL_MS = 100;

/** A worker an earlier supervisor started and this one took back. It is not this process's child, so its
 *  exit is seen by looking: when its control channel closes (every 100 ms), and every second besides, whether the process
 *  its record names (pid and start time) is still there. Its exit status is not known. */
export class AdoptedProcess extends LinkedProcess {
  readonly startedAt: number;
  readonly exited: Promise<Exit>;
  readonly #procStart: string;
  #gone = false;
  #resolve!: (exit: Exit) => void;
  readonly #watch: NodeJS.Timeout;

  constructor(record: WorkerRecord, link: Linked, hooks: ProcessHooks, requestSecret: string) {
    super(record.pid, hooks);
    this.#procStart = record.proc_start;
    // Its spawn, as the supervisor that spawned it recorded it: the same start the dashboard showed before.
    this.startedAt = performance.now() - (Date.now() - record.started_at);
    this.exited = new Promise((resolve) => (this.#resolve = resolve));
    this.#watch = setInterval(() => this.#look(), 1000);
    this.#watch.unref();
    // What it says comes once whoever took it holds it (its `ready` among them).
    queueMicrotask(() => this.attach(link, requestSecret));
  }

  get running(): boolean {
    return !this.#gone;
  }

  stop(graceMs: number): Promise<Exit> {
    if (this.#gone) return this.exited;
    return this.stopWithin(graceMs, () => {
      if (!this.#look()) return;
      try {
        process.kill(this.pid, 'SIGTERM');
      } catch {
        // already exiting
      }
    });
  }

  override kill(): void {
    if (this.#look()) super.kill();
  }

  protected override linkClosed(): void {
    const poll = setInterval(() => {
      if (!this.#look() || this.link) clearInterval(poll);
    }, POLL_MS);
    poll.unref();
  }

  /** Whether the very process is still there; notes its exit the first time it is not. */
  #look(): boolean {
    if (this.#gone) return false;
    if (isSameProcess(this.pid, this.#procStart)) return true;
    this.#gone = true;
    clearInterval(this.#watch);
    this.killBrowser();
    this.#resolve({ code: null, signal: null });
    return false;
  }
}
