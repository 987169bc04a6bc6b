/** At most `limit` worker processes start at once. Starting is CPU-bound (module loading): a cold start of
 *  twenty profiles on two cores finishes sooner in waves than all at once, and the first profiles are
 *  ready long before the last instead of all together at the end. */
export class StartGate {
  readonly #limit: number;
  #active = 0;
  readonly #queue: (() => void)[] = [];

  constructor(limit: number) {
    this.#limit = Math.max(1, limit);
  }

  /** Resolves when a start may begin; call the returned function once it is over (ready or exited). */
  async enter(): Promise<() => void> {
    if (this.#active < this.#limit) this.#active += 1;
    else await new Promise<void>((resolve) => this.#queue.push(resolve)); // the slot is handed over
    let left = false;
    return () => {
      if (left) return;
      left = true;
      const next = this.#queue.shift();
      if (next) next();
      else this.#active -= 1;
    };
  }
}
