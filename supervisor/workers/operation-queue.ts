import type { Logger } from '../../shared/runtime/logger.ts';

/** A lifecycle's operations, one at a time in the order asked; a failed one is logged and the next runs. */
export class OperationQueue {
  readonly #log: (error: unknown) => void;
  #tail: Promise<void> = Promise.resolve();

  constructor(log: Logger, fields: Record<string, unknown>) {
    this.#log = (error) => log.error({ err: error, ...fields }, 'worker lifecycle operation failed');
  }

  run(task: () => Promise<void>): Promise<void> {
    const run = this.#tail.then(task, task);
    this.#tail = run.catch(this.#log);
    return run;
  }

  /** Resolves when every operation asked for so far (and any they asked for meanwhile) is done. */
  async idle(): Promise<void> {
    for (let tail = this.#tail; ; tail = this.#tail) {
      await tail;
      if (tail === this.#tail) return;
    }
  }
}

/** Whoever waits for something to happen (a spawned process to be ready or gone): all let go at once. */
export class Waiters {
  readonly #waiting = new Set<() => void>();

  wait(): Promise<void> {
    return new Promise((resolve) => this.#waiting.add(resolve));
  }

  release(): void {
    const waiting = [...this.#waiting];
    this.#waiting.clear();
    for (const resolve of waiting) resolve();
  }
}
