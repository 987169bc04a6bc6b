/** After this many failed sign-ins for one name or from one address within the window, every attempt — the
 *  right password included — is refused until the window passes. */
export const MAX_FAILED_SIGN_INS = 5;

/** Failed sign-ins per name and per address, on monotonic time. */
export class SignInLimits {
  readonly #windowMs: number;
  readonly #now: () => number;
  readonly #failures = new Map<string, number[]>();

  constructor(options: { windowMs: number; now?: () => number }) {
    this.#windowMs = options.windowMs;
    this.#now = options.now ?? (() => performance.now());
  }

  /** Seconds until an attempt for `keys` is allowed again; 0 when it is allowed now. */
  retryAfterSeconds(keys: string[]): number {
    const now = this.#now();
    let until = 0;
    for (const key of keys) {
      const recent = this.#recent(key, now);
      if (recent.length >= MAX_FAILED_SIGN_INS) until = Math.max(until, recent[recent.length - MAX_FAILED_SIGN_INS]! + this.#windowMs);
    }
    return until > now ? Math.ceil((until - now) / 1000) : 0;
  }

  failed(keys: string[]): void {
    const now = this.#now();
    for (const key of keys) this.#failures.set(key, [...this.#recent(key, now), now]);
  }

  #recent(key: string, now: number): number[] {
    const recent = (this.#failures.get(key) ?? []).filter((t) => now - t < this.#windowMs);
    if (recent.length === 0) this.#failures.delete(key);
    else this.#failures.set(key, recent);
    return recent;
  }
}
