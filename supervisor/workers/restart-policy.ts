/** When a crashed worker may start again (docs/architecture.md, "The worker state machine"): exponential backoff from 0.5 s doubling to 30 s,
 *  reset after a minute up; `maxRestarts` exits within `windowMs` give up (state `errored`).
 *  Monotonic time only, so a wall-clock jump never shortens or stretches a backoff. */
export interface RestartPolicyOptions {
  maxRestarts: number;
  windowMs: number;
  baseDelayMs?: number;
  maxDelayMs?: number;
  stableAfterMs?: number;
  now?: () => number;
}

export type RestartDecision = { action: 'restart'; delayMs: number } | { action: 'give_up'; exits: number };

export class RestartPolicy {
  readonly #o: Required<RestartPolicyOptions>;
  #exits: number[] = [];
  #nextDelay: number;

  constructor(options: RestartPolicyOptions) {
    this.#o = { baseDelayMs: 500, maxDelayMs: 30_000, stableAfterMs: 60_000, now: () => performance.now(), ...options };
    this.#nextDelay = this.#o.baseDelayMs;
  }

  /** Records an unexpected exit of a process that had been up `upForMs`. */
  recordExit(upForMs: number): RestartDecision {
    const now = this.#o.now();
    if (upForMs >= this.#o.stableAfterMs) this.#nextDelay = this.#o.baseDelayMs;
    this.#exits = this.#exits.filter((t) => now - t < this.#o.windowMs);
    this.#exits.push(now);
    if (this.#exits.length >= this.#o.maxRestarts) return { action: 'give_up', exits: this.#exits.length };
    const delayMs = this.#nextDelay;
    this.#nextDelay = Math.min(this.#nextDelay * 2, this.#o.maxDelayMs);
    return { action: 'restart', delayMs };
  }

  /** A person or a file change said "try again": forget the history. */
  reset(): void {
    this.#exits = [];
    this.#nextDelay = this.#o.baseDelayMs;
  }
}
