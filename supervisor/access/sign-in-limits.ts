/** After this many failed sign-ins from one client address within the window, every attempt from there —
 *  the right password included — is refused until the window passes. */
export const MAX_FAILED_SIGN_INS = 5;

/** An attempt taken: say how it ended. */
export interface Attempt {
  succeeded(): void;
  failed(): void;
}

/** Sign-in attempts per client address, on monotonic time. An attempt counts from the moment it begins,
 *  before its password is checked: guesses sent in parallel get at most `MAX_FAILED_SIGN_INS` checks, and
 *  429 after. Only the address is counted, never the name: failures from one address never stop the person
 *  from signing in from another. */
export class SignInLimits {
  readonly #windowMs: number;
  readonly #now: () => number;
  readonly #failures = new Map<string, number[]>();
  readonly #pending = new Map<string, number>();

  constructor(options: { windowMs: number; now?: () => number }) {
    this.#windowMs = options.windowMs;
    this.#now = options.now ?? (() => performance.now());
  }

  /** An attempt from `address`, or the seconds until one is allowed again. */
  begin(address: string): Attempt | { retryAfterSeconds: number } {
    const now = this.#now();
    const failures = this.#recent(address, now);
    const pending = this.#pending.get(address) ?? 0;
    if (failures.length + pending >= MAX_FAILED_SIGN_INS) {
      // Attempts still under way free their places when they end: a second, unless failures fill them.
      const until = failures.length >= MAX_FAILED_SIGN_INS ? failures[failures.length - MAX_FAILED_SIGN_INS]! + this.#windowMs : now + 1000;
      return { retryAfterSeconds: Math.max(1, Math.ceil((until - now) / 1000)) };
    }
    this.#pending.set(address, pending + 1);
    let ended = false;
    const end = (failed: boolean) => {
      if (ended) return;
      ended = true;
      const left = (this.#pending.get(address) ?? 1) - 1;
      if (left > 0) this.#pending.set(address, left);
      else this.#pending.delete(address);
      if (failed) this.#failures.set(address, [...this.#recent(address, this.#now()), this.#now()]);
    };
    return { succeeded: () => end(false), failed: () => end(true) };
  }

  #recent(address: string, now: number): number[] {
    const recent = (this.#failures.get(address) ?? []).filter((t) => now - t < this.#windowMs);
    if (recent.length === 0) this.#failures.delete(address);
    else this.#failures.set(address, recent);
    return recent;
  }
}
