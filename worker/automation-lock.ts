import { ApiError } from '../shared/api-error.ts';
import type { WorkInProgress, WorkName } from './work-in-progress.ts';

/** One automation at a time per worker (one Chrome, one page): a second one gets 409 `busy` — except behind
 *  the restore after a start (reopening Chrome, logging into the MIS), which a person's automation simply
 *  waits for. What runs is live process state (`GET /api/browser-status`, `/api/events`), never written to
 *  the session store. */
export class AutomationLock {
  #running: WorkName | null = null;
  #current: Promise<unknown> = Promise.resolve();
  readonly #work: WorkInProgress;
  readonly #onChange: (running: WorkName | null) => void;

  constructor(work: WorkInProgress, onChange: (running: WorkName | null) => void = () => {}) {
    this.#work = work;
    this.#onChange = onChange;
  }

  get running(): WorkName | null {
    return this.#running;
  }

  async run<T>(name: WorkName, task: () => Promise<T>): Promise<T> {
    while (this.#running === 'restore') await this.#current.catch(() => {});
    if (this.#running) throw new ApiError(409, 'busy', `"${this.#running}" is still running for this profile; wait for it to finish`, { running: this.#running });
    this.#running = name;
    this.#onChange(name);
    const run = this.#work.track(name, task);
    this.#current = run;
    try {
      return await run;
    } finally {
      this.#running = null;
      this.#onChange(null);
    }
  }
}
