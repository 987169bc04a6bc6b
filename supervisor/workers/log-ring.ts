/** The last `capacity` log lines of one worker, for `GET /supervisor/api/workers/:h/logs` and 503 bodies;
 *  `subscribe` follows the lines as they come (the logs stream). */
export class LogRing {
  readonly #lines: string[] = [];
  readonly #capacity: number;
  readonly #listeners = new Set<(line: string) => void>();

  constructor(capacity = 500) {
    this.#capacity = capacity;
  }

  push(line: string): void {
    this.#lines.push(line);
    if (this.#lines.length > this.#capacity) this.#lines.splice(0, this.#lines.length - this.#capacity);
    for (const listener of this.#listeners) {
      try {
        listener(line);
      } catch {
        // a listener's failure is its own: the relay and the other listeners go on
      }
    }
  }

  tail(count = this.#capacity): string[] {
    return this.#lines.slice(-count);
  }

  /** Calls `listener` with every line pushed from now on; returns the function that stops it. */
  subscribe(listener: (line: string) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }
}
