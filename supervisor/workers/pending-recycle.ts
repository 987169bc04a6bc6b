import type { PendingRecycle } from './worker-status.ts';

/** What a worker's process says it is in the middle of, each with the time it must be done by, and a
 *  recycle that waits for it: until the work ends, its limit passes, or the wait is given up (a stop). */
export class WorkerWork {
  #running: { name: string; until: number }[] = [];
  #changed: (() => void) | null = null;
  #giveUp: (() => void) | null = null;
  #pending: PendingRecycle | null = null;

  get names(): string[] {
    return this.#running.map((w) => w.name);
  }

  get busy(): boolean {
    return this.#running.length > 0;
  }

  /** The recycle waiting for it, for the status. */
  get pending(): PendingRecycle | null {
    return this.#pending;
  }

  /** What the process said (`work` on its control channel). */
  set(running: { name: string; limit_ms: number }[]): void {
    const now = performance.now();
    this.#running = running.map((w) => ({ name: w.name, until: now + w.limit_ms }));
    this.#changed?.();
  }

  /** The process is gone: whatever it was doing died with it. */
  clear(): void {
    this.#running = [];
    this.#changed?.();
  }

  /** Waits for the work to end, at most until its latest limit; `stillUp()` false ends the wait too. */
  async waitForEnd(reason: string, stillUp: () => boolean): Promise<void> {
    if (this.#running.length === 0) return;
    const until = Math.max(...this.#running.map((w) => w.until));
    this.#pending = { action: 'recycle', reason, waiting_for: this.names, until: new Date(Date.now() + (until - performance.now())).toISOString() };
    await new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.#changed = null;
        this.#giveUp = null;
        resolve();
      };
      const timer = setTimeout(done, Math.max(0, until - performance.now()));
      this.#changed = () => {
        if (this.#pending) this.#pending.waiting_for = this.names;
        if (this.#running.length === 0 || !stillUp()) done();
      };
      this.#giveUp = done;
    });
    this.#pending = null;
  }

  /** A stop does not wait: the recycle waiting goes on at once (and the stop after it). */
  giveUpWaiting(): void {
    this.#giveUp?.();
  }
}
