import { ApiError } from '../../shared/http/api-error.ts';
import type { Work, WorkInProgress, WorkName } from './work-in-progress.ts';

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

  async run<T>(name: WorkName, task: (work: Work) => Promise<T>, options: { done?: (result: T) => string } = {}): Promise<T> {
    while (this.#running === 'restore') await this.#current.catch(() => {});
    if (this.#running) {
      const view = this.#work.find({ name: this.#running })?.view;
      const what = `"${this.#running}"${view ? ` (${view.title.toLowerCase()}: ${view.stage})` : ''}`;
      throw new ApiError(409, 'busy', `${what} is still running for this profile: wait for it to finish, or cancel it (POST api/work/cancel)`, { running: this.#running });
    }
    this.#running = name;
    this.#onChange(name);
    const run = this.#work.track(name, task, { ...options, cancellable: name !== 'browser-close' });
    this.#current = run;
    try {
      return await run;
    } finally {
      this.#running = null;
      this.#onChange(null);
    }
  }
}
