import { RestartPolicy, type RestartDecision, type RestartPolicyOptions } from './restart-policy.ts';
import type { Exit } from './worker-process.ts';
import type { LastExit } from './worker-status.ts';

/** A worker's crashes: how many, the last one, and — when its restart policy says try again — the timer of
 *  the backoff until then (`onRetryDue` when it is over: reconcile decides). */
export class Crashes {
  readonly #policy: RestartPolicy;
  readonly #onRetryDue: () => void;
  #count = 0;
  #last: LastExit | null = null;
  #retryAt: number | null = null;
  #timer: NodeJS.Timeout | undefined;

  constructor(policy: RestartPolicyOptions, onRetryDue: () => void) {
    this.#policy = new RestartPolicy(policy);
    this.#onRetryDue = onRetryDue;
  }

  get count(): number {
    return this.#count;
  }

  get last(): LastExit | null {
    return this.#last;
  }

  /** A backoff is over (and not cancelled since). */
  get retryDue(): boolean {
    return this.#retryAt !== null && performance.now() >= this.#retryAt;
  }

  /** An exit nobody asked for, of a process started at `startedAt` (performance.now()): give up, or restart
   *  after the backoff it returns. */
  record(startedAt: number, exit: Exit, reason: string): RestartDecision {
    const summary = `${exit.code !== null ? `code ${exit.code}` : `signal ${exit.signal}`} (${reason.replaceAll('_', ' ')})`;
    this.#last = { code: exit.code, signal: exit.signal, at: new Date().toISOString(), reason, summary };
    this.#count += 1;
    const decision = this.#policy.recordExit(performance.now() - startedAt);
    if (decision.action === 'restart') {
      this.#retryAt = performance.now() + decision.delayMs;
      this.#timer = setTimeout(this.#onRetryDue, decision.delayMs);
    }
    return decision;
  }

  /** Crashes an earlier supervisor counted (its record of the worker it hands over). */
  carryOver(count: number): void {
    this.#count = Math.max(this.#count, count);
  }

  /** A start, stop or recycle came: no backoff runs any more. */
  cancelRetry(): void {
    clearTimeout(this.#timer);
    this.#retryAt = null;
  }

  /** Someone asked for a fresh start (a restart, a changed file): the crash history is forgotten. */
  forgive(): void {
    this.#policy.reset();
  }
}
