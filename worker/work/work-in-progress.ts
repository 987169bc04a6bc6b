import { ApiError } from '../../shared/http/api-error.ts';

/** The most each piece of work may take. The supervisor lets work finish before it recycles a worker, but
 *  waits no longer than this (README, "Everyday use"); the pages show it as the most it can take. */
export const WORK_LIMITS_MS = {
  'init-all': 60_000,
  'pull-csv': 120_000,
  'load-sheet': 30_000,
  'browser-close': 10_000,
  restore: 60_000,
  'google-connect': 10 * 60_000,
} as const;

export type WorkName = keyof typeof WORK_LIMITS_MS;

/** What each piece of work is called on the pages. */
export const WORK_TITLES: Record<WorkName, string> = {
  'init-all': 'Starting Chrome and signing into the MIS',
  'pull-csv': 'Pulling the MIS CSV',
  'load-sheet': 'Loading the spreadsheet',
  'browser-close': 'Closing Chrome',
  restore: 'Bringing the work back after the restart',
  'google-connect': 'Connecting Google',
};

/** Cancelling waits at most this long for the work's own clean-up (closing what it opened). */
const CANCEL_CLEANUP_MS = 1_500;

/** One piece of work as the pages and the event stream see it. `at` times are ms since the epoch. */
export interface WorkView {
  id: number;
  name: WorkName;
  title: string;
  state: 'running' | 'done' | 'failed' | 'cancelled';
  /** What it is doing now ("starting Chrome", "waiting for the export"). */
  stage: string;
  /** Which try of how many, when the stage is retried. */
  attempt: { n: number; of: number } | null;
  started_at: number;
  stage_at: number;
  limit_ms: number;
  ended_at: number | null;
  /** How it ended: what it did, or why it failed. */
  message: string | null;
  cancellable: boolean;
}

/** Given to the code doing the work: it says where it is (`stage`), passes `signal` to what it waits on,
 *  and says what cancelling means at each point (`onCancel`: close what it opened). */
export class Work {
  readonly view: WorkView;
  readonly #controller = new AbortController();
  readonly #cleanups = new Set<() => unknown>();
  readonly #changed: (view: WorkView) => void;

  constructor(id: number, name: WorkName, cancellable: boolean, changed: (view: WorkView) => void) {
    const now = Date.now();
    this.view = { id, name, title: WORK_TITLES[name], state: 'running', stage: 'starting', attempt: null, started_at: now, stage_at: now, limit_ms: WORK_LIMITS_MS[name], ended_at: null, message: null, cancellable };
    this.#changed = changed;
  }

  get signal(): AbortSignal {
    return this.#controller.signal;
  }

  get cancelled(): boolean {
    return this.#controller.signal.aborted;
  }

  stage(text: string, attempt: { n: number; of: number } | null = null): void {
    if (this.view.state !== 'running') return;
    this.view.stage = text;
    this.view.attempt = attempt;
    this.view.stage_at = Date.now();
    this.#changed(this.view);
  }

  /** Runs when the work is cancelled while this is registered; returns the function that unregisters it. */
  onCancel(cleanup: () => unknown): () => void {
    this.#cleanups.add(cleanup);
    return () => this.#cleanups.delete(cleanup);
  }

  /** Throws `cancelled` once the work was cancelled: for loops that poll. */
  throwIfCancelled(): void {
    if (this.cancelled) throw cancelledError(this.view);
  }

  async cancel(): Promise<void> {
    if (this.cancelled || this.view.state !== 'running') return;
    this.#controller.abort();
    const cleanups = [...this.#cleanups].map(async (cleanup) => cleanup());
    await Promise.race([Promise.allSettled(cleanups), new Promise((r) => setTimeout(r, CANCEL_CLEANUP_MS).unref())]);
  }

  end(state: 'done' | 'failed' | 'cancelled', message: string | null): void {
    if (this.view.state !== 'running') return;
    this.view.state = state;
    this.view.message = message;
    this.view.ended_at = Date.now();
    this.#changed(this.view);
  }
}

export function cancelledError(view: Pick<WorkView, 'title'>): ApiError {
  return new ApiError(409, 'cancelled', `${view.title} was cancelled; nothing was kept from it`);
}

/** What this worker is in the middle of (automations, a Sheets load, the restore after a start, a Google
 *  sign-in under way), with its stage: told to the supervisor at every change (which neither recycles
 *  until it is done, nor idle-stops a worker at work), and to the pages as `work` events. A Google sign-in
 *  waits for a person, so it does not hold a recycle back. */
export class WorkInProgress {
  readonly #running = new Set<Work>();
  readonly #onChange: (running: { name: WorkName; limit_ms: number }[]) => void;
  readonly #publish: (view: WorkView) => void;
  #ids = 0;

  constructor(onChange: (running: { name: WorkName; limit_ms: number }[]) => void, publish: (view: WorkView) => void = () => {}) {
    this.#onChange = onChange;
    this.#publish = publish;
  }

  get names(): WorkName[] {
    return [...this.#running].map((w) => w.view.name);
  }

  get views(): WorkView[] {
    return [...this.#running].map((w) => w.view);
  }

  /** Runs `task` as a piece of work. Cancelled, it answers `cancelled` at once (its clean-up has run), even if
   *  what it waited on has not noticed yet. `done`: how a result is described on the page. */
  async track<T>(name: WorkName, task: (work: Work) => Promise<T>, options: { cancellable?: boolean; done?: (result: T) => string } = {}): Promise<T> {
    const work = this.begin(name, options.cancellable ?? true);
    let cancelled!: () => void;
    const onAbort = new Promise<never>((_resolve, reject) => {
      cancelled = () => reject(cancelledError(work.view));
      work.signal.addEventListener('abort', cancelled, { once: true });
    });
    onAbort.catch(() => {});
    try {
      const result = await Promise.race([task(work), onAbort]);
      work.end('done', options.done ? options.done(result) : null);
      return result;
    } catch (error) {
      const failure = work.cancelled ? cancelledError(work.view) : error;
      work.end(work.cancelled ? 'cancelled' : 'failed', (failure as Error).message ?? String(failure));
      throw failure;
    } finally {
      work.signal.removeEventListener('abort', cancelled);
      this.#finish(work);
    }
  }

  /** Work that spans requests (a Google sign-in: begun by one, ended by the callback). End it with `end`
   *  and `finish`. */
  begin(name: WorkName, cancellable = true): Work {
    const work = new Work(++this.#ids, name, cancellable, (view) => this.#publish(view));
    this.#running.add(work);
    this.#changed();
    this.#publish(work.view);
    return work;
  }

  #finish(work: Work): void {
    if (this.#running.delete(work)) this.#changed();
  }

  /** Ends spanning work begun with `begin`. */
  finish(work: Work, state: 'done' | 'failed' | 'cancelled', message: string | null): void {
    work.end(state, message);
    this.#finish(work);
  }

  /** The running work of that name (or id), if any. */
  find(which: { name?: WorkName; id?: number }): Work | undefined {
    return [...this.#running].find((w) => (which.id === undefined || w.view.id === which.id) && (which.name === undefined || w.view.name === which.name));
  }

  #changed(): void {
    const holding = [...this.#running].filter((w) => w.view.name !== 'google-connect');
    this.#onChange(holding.map((w) => ({ name: w.view.name, limit_ms: WORK_LIMITS_MS[w.view.name] })));
  }
}
