import { ApiError } from '../shared/api-error.ts';
import type { SessionManager } from './session/session-manager.ts';

/** One automation at a time per worker (one Chrome, one page): a second one gets 409 `busy`. */
export class AutomationLock {
  #running: string | null = null;
  readonly #session: SessionManager;

  constructor(session: SessionManager) {
    this.#session = session;
  }

  get running(): string | null {
    return this.#running;
  }

  async run<T>(name: string, task: () => Promise<T>): Promise<T> {
    if (this.#running) throw new ApiError(409, 'busy', `"${this.#running}" is still running for this profile; wait for it to finish`, { running: this.#running });
    this.#running = name;
    try {
      await this.#session.set('automation_in_progress', name).catch(() => {});
      return await task();
    } finally {
      this.#running = null;
      await this.#session.delete('automation_in_progress').catch(() => {});
    }
  }
}
