/** The last `capacity` log lines of one worker, for `GET /supervisor/api/workers/:h/logs` and 503 bodies. */
export class LogRing {
  readonly #lines: string[] = [];
  readonly #capacity: number;

  constructor(capacity = 500) {
    this.#capacity = capacity;
  }

  push(line: string): void {
    this.#lines.push(line);
    if (this.#lines.length > this.#capacity) this.#lines.splice(0, this.#lines.length - this.#capacity);
  }

  tail(count = this.#capacity): string[] {
    return this.#lines.slice(-count);
  }
}
