import type { ChildProcess } from 'node:child_process';
import type { Logger } from '../../shared/runtime/logger.ts';

/** How long an unused spare is kept when idle stop is off: the starts that follow an exit (a healing after a
 *  crash, a recycle) find one; a quiet system pays for none. */
export const SPARE_LINGER_MS = 60_000;

export interface SpareWorkersOptions {
  /** Spawns a worker process that has loaded its modules and waits for its `start` message. */
  launch(): ChildProcess;
  log: Logger;
  /** Keep one at all times (idle stop is on: any request may wake a profile). */
  always: boolean;
  lingerMs?: number;
}

/** A pre-started worker process that becomes a profile's worker on demand (docs/architecture.md, "Spare
 *  workers"; Unicorn's preload, Android's zygote): the ~250 ms of CPU a Node process spends loading its
 *  modules is paid before anyone asks, and a start costs only the profile's own set-up. One is kept while
 *  idle stop is on; otherwise one is made when a worker exits (a crash waits out its backoff while it loads)
 *  and let go after `SPARE_LINGER_MS` unused. */
export class SpareWorkers {
  readonly #o: SpareWorkersOptions;
  #spare: ChildProcess | null = null;
  #linger: NodeJS.Timeout | undefined;
  #closed = false;

  constructor(options: SpareWorkersOptions) {
    this.#o = options;
    if (options.always) this.#prepare();
  }

  /** A spare to become a worker now, or null (then the caller spawns one the usual way). While one is kept
   *  at all times, another is made for the next start; otherwise a start makes none (a cold start of many
   *  profiles is bound by CPU: a spare there would be one process more to load, not a faster start). */
  take(): ChildProcess | null {
    const spare = this.#spare;
    this.#spare = null;
    const usable = spare !== null && spare.exitCode === null && spare.signalCode === null && spare.connected;
    if (spare && !usable) spare.kill('SIGKILL');
    if (this.#o.always) this.#prepare();
    return usable ? spare : null;
  }

  /** A worker exited (a crash waits out its backoff, an idle stop may be woken again): one is kept ready for
   *  a while. */
  soon(): void {
    this.#prepare();
  }

  /** The supervisor stops (or leaves its workers to the next one): the spare goes, now. */
  close(): void {
    this.#closed = true;
    clearTimeout(this.#linger);
    this.#spare?.kill('SIGKILL');
    this.#spare = null;
  }

  #prepare(): void {
    if (this.#closed) return;
    if (!this.#spare) {
      const spare = this.#o.launch();
      this.#spare = spare;
      spare.once('exit', (code, signal) => {
        if (this.#spare !== spare) return; // taken, or let go
        this.#spare = null;
        // Not made again from here (a broken build would loop): the next start or exit makes another.
        if (!this.#closed) this.#o.log.warn({ code, signal }, 'a spare worker exited before it was used');
      });
    }
    if (this.#o.always) return;
    clearTimeout(this.#linger);
    this.#linger = setTimeout(() => {
      const spare = this.#spare;
      this.#spare = null;
      spare?.kill('SIGTERM');
    }, this.#o.lingerMs ?? SPARE_LINGER_MS);
    this.#linger.unref();
  }
}
