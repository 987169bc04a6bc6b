import { ApiError } from '../shared/api-error.ts';

/** One automation at a time per worker (one Chrome, one page): a second one gets 409 `busy`. What runs is
 *  live process state (`GET /api/browser-status`), never written to the session store. */
export class AutomationLock {
  #running: string | null = null;
  readonly #onChange: (running: string | null) => void;

  constructor(onChange: (running: string | null) => void = () => {}) {
    this.#onChange = onChange;
  }

  get running(): string | null {
    return this.#running;
  }

  async run<T>(name: string, task: () => Promise<T>): Promise<T> {
    if (this.#running) throw new ApiError(409, 'busy', `"${this.#running}" is still running for this profile; wait for it to finish`, { running: this.#running });
    this.#running = name;
    this.#onChange(name);
    try {
      return await task();
    } finally {
      this.#running = null;
      this.#onChange(null);
    }
  }
}
