/** The most each piece of work may take. The supervisor lets work finish before it recycles a worker, but
 *  waits no longer than this (README, "Everyday use"). */
export const WORK_LIMITS_MS = {
  'init-all': 60_000,
  'pull-csv': 120_000,
  'load-sheet': 30_000,
  'browser-close': 10_000,
  restore: 60_000,
} as const;

export type WorkName = keyof typeof WORK_LIMITS_MS;

/** What this worker is in the middle of (automations, a Sheets load, the restore after a start): told to the
 *  supervisor at every change, which neither recycles (until it is done) nor idle-stops a worker at work. */
export class WorkInProgress {
  readonly #running = new Set<{ name: WorkName }>();
  readonly #onChange: (running: { name: WorkName; limit_ms: number }[]) => void;

  constructor(onChange: (running: { name: WorkName; limit_ms: number }[]) => void) {
    this.#onChange = onChange;
  }

  get names(): WorkName[] {
    return [...this.#running].map((w) => w.name);
  }

  async track<T>(name: WorkName, task: () => Promise<T>): Promise<T> {
    const entry = { name };
    this.#running.add(entry);
    this.#changed();
    try {
      return await task();
    } finally {
      this.#running.delete(entry);
      this.#changed();
    }
  }

  #changed(): void {
    this.#onChange(this.names.map((name) => ({ name, limit_ms: WORK_LIMITS_MS[name] })));
  }
}
