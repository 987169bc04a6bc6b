/** Where the proxy sends a worker's requests: its Unix socket, or its TCP port. */
export type UpstreamTarget = URL | { socketPath: string; host: string; port: number };

export interface Lease {
  ok: true;
  target: UpstreamTarget;
  /** Which process serves it; a retry only makes sense against a newer one. */
  generation: number;
  /** The request became a long-lived stream (Server-Sent Events, a WebSocket): a recycle no longer waits
   *  for it (the worker ends its streams when it stops), but it still counts as activity. */
  stream(): void;
  release(): void;
}

export interface Refusal {
  ok: false;
  status: 503;
  code: 'worker_unavailable';
  message: string;
  extra: Record<string, unknown>;
  retryAfterSeconds: number;
}

/** What a refusal tells the client about the worker (from its lifecycle). */
export interface WorkerAccount {
  state: string;
  lastExit: unknown;
  problem: { code: string; message: string } | null;
  /** Its last log lines, for a worker that gave up. */
  recentLines(): string[];
}

interface Waiter {
  resolve(result: Lease | Refusal): void;
  timer: NodeJS.Timeout;
  signal: AbortSignal | undefined;
  onAbort: () => void;
}

/** Which requests reach one worker, and when: leases while it is ready, requests held (in arrival order)
 *  while it starts or recycles — or while it sleeps after being idle, which asks for it to start — in-flight
 *  requests counted so that a recycle can drain them, the time since it was last used, and the 503 answers
 *  when it will not come back. The lifecycle sets the mode; the proxy asks for leases. */
export class Admission {
  /** The worker's name (metrics), the profile it serves (`null`: the setup worker), how messages call it. */
  readonly name: string;
  readonly handle: string | null;
  readonly label: string;
  readonly #account: () => WorkerAccount;
  #mode: 'open' | 'holding' | 'dormant' | 'closed' = 'closed';
  #target: UpstreamTarget | null = null;
  #generation = 0;
  readonly #waiters = new Set<Waiter>();
  #inFlight = 0;
  #streams = 0;
  /** `performance.now()` of the last lease given or returned. */
  #lastActive = performance.now();
  #drained: (() => void) | null = null;
  #onDemand: (() => void) | null = null;

  constructor(options: { name: string; handle: string | null; label: string; account: () => WorkerAccount }) {
    this.name = options.name;
    this.handle = options.handle;
    this.label = options.label;
    this.#account = options.account;
  }

  get held(): number {
    return this.#waiters.size;
  }

  get inFlight(): number {
    return this.#inFlight;
  }

  /** How long nothing has used the worker (no request, no stream), or 0 while something does. */
  get idleForMs(): number {
    return this.#inFlight + this.#streams > 0 ? 0 : performance.now() - this.#lastActive;
  }

  /** The worker is ready at `target`: leases from now on, and every held request goes, oldest first. */
  open(target: UpstreamTarget, generation: number): void {
    this.#mode = 'open';
    this.#target = target;
    this.#generation = generation;
    this.#lastActive = performance.now();
    for (const waiter of [...this.#waiters]) {
      this.#drop(waiter);
      waiter.resolve(this.#lease());
    }
  }

  /** The worker is starting, recycling or backing off: new requests wait for `open`. */
  hold(): void {
    this.#mode = 'holding';
  }

  /** The worker was stopped for being idle: a request is held and asks for it to start (`onDemand`, once
   *  until it is open again). */
  dormant(onDemand: () => void): void {
    this.#mode = 'dormant';
    this.#onDemand = onDemand;
  }

  /** The worker will not come back by itself (stopped, errored): held and new requests get 503. */
  close(why?: string): void {
    this.#mode = 'closed';
    for (const waiter of [...this.#waiters]) {
      this.#drop(waiter);
      waiter.resolve(this.refusal(why));
    }
  }

  /** A lease at once when the worker is ready (the proxy's fast path, no promise), else `null`. */
  tryLease(): Lease | null {
    return this.#mode === 'open' ? this.#lease() : null;
  }

  /** A lease for one request: at once when ready, else held until it is (or `timeoutMs`, or the client
   *  goes away). `notGeneration`: the process that just refused a connection (it is gone or going, even if
   *  its exit has not been seen yet): only a later one will do. */
  acquire(timeoutMs: number, signal?: AbortSignal, notGeneration?: number): Promise<Lease | Refusal> {
    if (this.#mode === 'open' && this.#generation !== notGeneration) return Promise.resolve(this.#lease());
    if (this.#mode === 'closed') return Promise.resolve(this.refusal());
    if (this.#mode === 'dormant') {
      const wake = this.#onDemand;
      this.#onDemand = null;
      wake?.();
    }
    return new Promise((resolve) => {
      const waiter: Waiter = {
        resolve,
        signal,
        timer: setTimeout(() => {
          this.#drop(waiter);
          resolve(this.refusal(`the worker did not become ready within ${timeoutMs} ms`));
        }, timeoutMs),
        onAbort: () => {
          this.#drop(waiter);
          resolve(this.refusal('the client went away'));
        },
      };
      signal?.addEventListener('abort', waiter.onAbort, { once: true });
      this.#waiters.add(waiter);
    });
  }

  /** Resolves once no lease is out, or after `timeoutMs` (a recycle never waits longer than that). */
  drained(timeoutMs: number): Promise<void> {
    if (this.#inFlight === 0) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.#drained = null;
        resolve();
      };
      const timer = setTimeout(done, timeoutMs);
      this.#drained = done;
    });
  }

  /** The 503 for a request this worker cannot take now. */
  refusal(why?: string): Refusal {
    const account = this.#account();
    if (account.state === 'errored') {
      const restart = this.handle ? ` (POST /supervisor/api/workers/${this.handle}/restart)` : '';
      return {
        ok: false,
        status: 503,
        code: 'worker_unavailable',
        message: `the worker for ${this.label} keeps crashing and was stopped; fix the cause, then restart it${restart}`,
        extra: { handle: this.handle, state: 'errored', last_exit: account.lastExit, problem: account.problem, last_log_lines: account.recentLines() },
        retryAfterSeconds: 30,
      };
    }
    return {
      ok: false,
      status: 503,
      code: 'worker_unavailable',
      message: `the worker for ${this.label} is not available (${why ?? account.state}); try again shortly`,
      extra: { handle: this.handle, state: account.state, ...(account.problem ? { problem: account.problem } : {}) },
      retryAfterSeconds: 2,
    };
  }

  #lease(): Lease {
    this.#inFlight += 1;
    this.#lastActive = performance.now();
    let state: 'request' | 'stream' | 'released' = 'request';
    const leaveRequests = () => {
      this.#inFlight -= 1;
      if (this.#inFlight === 0) this.#drained?.();
    };
    return {
      ok: true,
      target: this.#target!,
      generation: this.#generation,
      stream: () => {
        if (state !== 'request') return;
        state = 'stream';
        this.#streams += 1;
        leaveRequests();
      },
      release: () => {
        if (state === 'released') return;
        if (state === 'stream') this.#streams -= 1;
        else leaveRequests();
        state = 'released';
        this.#lastActive = performance.now();
      },
    };
  }

  #drop(waiter: Waiter): void {
    clearTimeout(waiter.timer);
    waiter.signal?.removeEventListener('abort', waiter.onAbort);
    this.#waiters.delete(waiter);
  }
}
