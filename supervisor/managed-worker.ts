import type { Agent } from 'node:http';
import { http } from '../shared/cjs-imports.ts';
import type { Handle } from '../shared/handle.ts';
import type { WorkerMessage } from '../shared/ipc.ts';
import { createLogger, type Logger } from '../shared/logger.ts';
import type { Settings } from '../shared/settings.ts';
import type { DestinationStream } from 'pino';
import { LogRing } from './log-ring.ts';
import { RestartPolicy } from './restart-policy.ts';
import { WorkerProcess, type Exit } from './worker-process.ts';
import { killAll, rssBytes } from './process-tree.ts';
import type { StartGate } from './start-gate.ts';

/** starting → ready → draining → stopped; a crash goes to backoff (then starting) or, in a crash loop, errored. */
export type WorkerState = 'starting' | 'ready' | 'draining' | 'stopped' | 'backoff' | 'errored';

/** Where the proxy sends a worker's requests: its Unix socket, or its TCP port. */
export type UpstreamTarget = URL | { socketPath: string; host: string; port: number };

export interface Lease {
  ok: true;
  target: UpstreamTarget;
  agent: Agent;
  /** Which process serves it; a retry only makes sense against a newer one. */
  generation: number;
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

export interface LastExit {
  code: number | null;
  signal: string | null;
  at: string;
  reason: string;
}

export interface WorkerStatus {
  handle: Handle | null;
  state: WorkerState;
  /** Why it is draining: a recycle (comes back) or a stop (does not). */
  draining_for: 'recycle' | 'stop' | null;
  pid: number | null;
  port: number;
  direct_url: string | null;
  started_at: string | null;
  uptime_ms: number | null;
  restarts: number;
  last_exit: LastExit | null;
  problem: { code: string; message: string; port?: number } | null;
  rss_bytes: number | null;
  held_requests: number;
  in_flight: number;
}

export interface ManagedWorkerOptions {
  /** `null`: the setup worker of first-run mode. */
  handle: Handle | null;
  /** 0 lets the OS choose (setup worker); the worker reports the real one. */
  port: number;
  settings: Settings;
  log: Logger;
  /** Where worker lines are re-emitted (the supervisor's stdout). */
  logDestination: DestinationStream;
  /** Environment the worker gets on top of the supervisor's own. */
  env: Record<string, string>;
  onMessage(worker: ManagedWorker, message: WorkerMessage): void;
  onStateChange(worker: ManagedWorker, previous: WorkerState): void;
  /** Limits how many workers start at once (shared by all workers of a supervisor). */
  startGate?: StartGate;
  /** Measurements for metrics: a process became ready, a recycle finished, a process crashed. */
  onEvent?(worker: ManagedWorker, event: WorkerEvent): void;
}

export type WorkerEvent = { kind: 'ready'; spawnSeconds: number } | { kind: 'recycled'; seconds: number } | { kind: 'crashed' };

interface Waiter {
  resolve(result: Lease | Refusal): void;
  timer: NodeJS.Timeout;
  signal: AbortSignal | undefined;
  onAbort: () => void;
}

/** The lifecycle of one profile's worker: an explicit state machine around `WorkerProcess`, holding
 *  requests while it is not ready. Lifecycle operations run one at a time. */
export class ManagedWorker {
  readonly handle: Handle | null;
  readonly logs = new LogRing(500);
  readonly #o: ManagedWorkerOptions;
  readonly #policy: RestartPolicy;
  #state: WorkerState = 'stopped';
  #drainingFor: 'recycle' | 'stop' | null = null;
  #port: number;
  #proc: WorkerProcess | null = null;
  #generation = 0;
  #agent = newAgent();
  #target: UpstreamTarget = new URL('http://127.0.0.1');
  #startedAtWall: Date | null = null;
  #restarts = 0;
  #lastExit: LastExit | null = null;
  #problem: WorkerStatus['problem'] = null;
  /** The worker's Chrome (own process group): killed with the worker whenever the worker cannot close it. */
  #browserPid: number | null = null;
  #startTimer: NodeJS.Timeout | undefined;
  #backoffTimer: NodeJS.Timeout | undefined;
  #waiters = new Set<Waiter>();
  #inFlight = 0;
  #drained: (() => void) | null = null;
  #ops: Promise<void> = Promise.resolve();
  #leaveGate: () => void = () => {};
  /** Callers of `recycle` waiting for the process it spawned to be ready or gone. */
  readonly #settleWaiters = new Set<() => void>();
  /** Exits we caused (stop, recycle, start timeout) are not crashes. */
  #expectedExit = new WeakSet<WorkerProcess>();

  constructor(options: ManagedWorkerOptions) {
    this.#o = options;
    this.handle = options.handle;
    this.#port = options.port;
    this.#policy = new RestartPolicy({ maxRestarts: options.settings.MAX_RESTARTS, windowMs: options.settings.RESTART_WINDOW_MS });
  }

  get state(): WorkerState {
    return this.#state;
  }

  get pid(): number | null {
    return this.#proc?.running ? this.#proc.pid : null;
  }

  /** Starts the worker unless it is already starting or running. Clears `errored`. */
  start(): Promise<void> {
    return this.#op(async () => {
      if (this.#state === 'ready' || this.#state === 'starting') return;
      this.#policy.reset();
      await this.#spawn();
    });
  }

  /** Graceful restart: hold new requests, let in-flight ones finish, stop, start again on the same port.
   *  Also the way out of `errored` and `backoff`. */
  recycle(reason: string): Promise<void> {
    let started = 0;
    const spawned = this.#op(async () => {
      this.#o.log.info({ handle: this.handle, reason }, 'recycling worker');
      started = performance.now();
      this.#policy.reset();
      await this.#shutdown('recycle');
      await this.#spawn();
    });
    // Waiting for the new process is not part of the operation: a stop (the supervisor's shutdown included)
    // must not queue behind a start that hangs until START_TIMEOUT_MS.
    return spawned.then(async () => {
      if (await this.#whenSettled()) this.#o.onEvent?.(this, { kind: 'recycled', seconds: (performance.now() - started) / 1000 });
    });
  }

  /** Graceful stop; held requests are answered 503. */
  stop(reason: string): Promise<void> {
    return this.#op(async () => {
      if (this.#state === 'stopped') return;
      this.#o.log.info({ handle: this.handle, reason }, 'stopping worker');
      await this.#shutdown('stop');
      this.#setState('stopped');
      this.#refuseWaiters('the worker was stopped');
    });
  }

  /** A lease at once when the worker is ready (the proxy's fast path), else `null`. */
  tryLease(): Lease | null {
    return this.#state === 'ready' ? this.#lease() : null;
  }

  /** A lease on the worker for one request: at once when ready, else held until it is (or `timeoutMs`).
   *  `notGeneration`: the process that just refused a connection (it is gone or going, even if its exit has
   *  not been seen yet): only a later process will do. */
  acquire(timeoutMs: number, signal?: AbortSignal, notGeneration?: number): Promise<Lease | Refusal> {
    if (this.#state === 'ready' && this.#generation !== notGeneration) return Promise.resolve(this.#lease());
    if (this.#state === 'errored' || this.#state === 'stopped') return Promise.resolve(this.#refusal());
    return new Promise((resolve) => {
      const waiter: Waiter = {
        resolve,
        signal,
        timer: setTimeout(() => {
          this.#dropWaiter(waiter);
          resolve(this.#refusal(`the worker did not become ready within ${timeoutMs} ms`));
        }, timeoutMs),
        onAbort: () => {
          this.#dropWaiter(waiter);
          resolve(this.#refusal('the client went away'));
        },
      };
      signal?.addEventListener('abort', waiter.onAbort, { once: true });
      this.#waiters.add(waiter);
    });
  }

  status(): WorkerStatus {
    const pid = this.pid;
    const up = this.#state === 'ready' || this.#state === 'draining';
    return {
      handle: this.handle,
      state: this.#state,
      draining_for: this.#state === 'draining' ? this.#drainingFor : null,
      pid,
      port: this.#port,
      direct_url: this.#port ? `http://127.0.0.1:${this.#port}/` : null,
      started_at: up && this.#startedAtWall ? this.#startedAtWall.toISOString() : null,
      uptime_ms: up && this.#proc ? Math.round(performance.now() - this.#proc.startedAt) : null,
      restarts: this.#restarts,
      last_exit: this.#lastExit,
      problem: this.#problem,
      rss_bytes: pid ? rssBytes(pid) : null,
      held_requests: this.#waiters.size,
      in_flight: this.#inFlight,
    };
  }

  // ——— internals ———

  /** Resolves true once the process just spawned is ready, false if it exited first. */
  #whenSettled(): Promise<boolean> {
    if (this.#state !== 'starting') return Promise.resolve(this.#state === 'ready');
    return new Promise((resolve) => {
      this.#settleWaiters.add(() => resolve(this.#state === 'ready'));
    });
  }

  #settle(): void {
    const waiters = [...this.#settleWaiters];
    this.#settleWaiters.clear();
    for (const settle of waiters) settle();
  }

  #op(task: () => Promise<void>): Promise<void> {
    const run = this.#ops.then(task, task);
    this.#ops = run.catch((error) => this.#o.log.error({ err: error, handle: this.handle }, 'worker lifecycle operation failed'));
    return run;
  }

  #setState(next: WorkerState): void {
    const previous = this.#state;
    if (previous === next) return;
    this.#state = next;
    this.#o.onStateChange(this, previous);
  }

  async #spawn(): Promise<void> {
    clearTimeout(this.#backoffTimer);
    this.#agent.destroy();
    this.#agent = newAgent();
    const generation = ++this.#generation;
    this.#problem = null;
    this.#setState('starting');
    this.#leaveGate();
    this.#leaveGate = (await this.#o.startGate?.enter()) ?? (() => {});
    const env: Record<string, string> = { ...this.#o.env, PORT: String(this.#port) };
    if (this.handle) env.BLAZE_PROFILE = this.handle;
    else env.TAT_SETUP_WORKER = '1';
    let relay: Logger | null = null;
    const proc = WorkerProcess.spawn({
      env,
      onMessage: (message) => {
        if (generation !== this.#generation) return;
        if (message.type === 'ready') this.#onReady(proc, message.port, message.socket ?? null);
        else if (message.type === 'browser') this.#browserPid = message.pid;
        else if (message.type === 'fatal') this.#problem = { code: message.code, message: message.message, ...(message.port ? { port: message.port } : {}) };
        else this.#o.onMessage(this, message);
      },
      onLine: (line, stream) => {
        relay ??= this.#relayLogger(proc.pid);
        relayLine(relay, line, stream);
      },
    });
    this.#proc = proc;
    this.#startTimer = setTimeout(() => {
      if (generation !== this.#generation || this.#state !== 'starting') return;
      this.#o.log.error({ handle: this.handle, pid: proc.pid, timeout_ms: this.#o.settings.START_TIMEOUT_MS }, 'worker did not become ready in time; killing it');
      this.#problem = { code: 'start_timeout', message: `did not become ready within ${this.#o.settings.START_TIMEOUT_MS} ms` };
      proc.kill();
    }, this.#o.settings.START_TIMEOUT_MS);
    void proc.exited.then((exit) => this.#onExit(proc, generation, exit));
  }

  #onReady(proc: WorkerProcess, port: number, socket: string | null): void {
    if (this.#state !== 'starting' || proc !== this.#proc) return;
    clearTimeout(this.#startTimer);
    this.#leaveGate();
    if (port) this.#port = port;
    this.#target = socket ? { socketPath: socket, host: '127.0.0.1', port: this.#port } : new URL(`http://127.0.0.1:${this.#port}`);
    this.#startedAtWall = new Date();
    this.#setState('ready');
    this.#o.onEvent?.(this, { kind: 'ready', spawnSeconds: (performance.now() - proc.startedAt) / 1000 });
    this.#settle();
    for (const waiter of [...this.#waiters]) {
      this.#dropWaiter(waiter);
      waiter.resolve(this.#lease());
    }
  }

  #onExit(proc: WorkerProcess, generation: number, exit: Exit): void {
    if (generation === this.#generation) {
      clearTimeout(this.#startTimer);
      this.#leaveGate();
      this.#settle(); // whether we stopped it or it crashed: it will not become ready
    }
    this.#killBrowser();
    if (this.#expectedExit.has(proc) || generation !== this.#generation) return;
    const uptime = performance.now() - proc.startedAt;
    this.#lastExit = {
      code: exit.code,
      signal: exit.signal,
      at: new Date().toISOString(),
      reason: this.#problem?.code ?? (this.#state === 'starting' ? 'exited_during_start' : 'crashed'),
    };
    this.#restarts += 1;
    this.#o.onEvent?.(this, { kind: 'crashed' });
    const decision = this.#policy.recordExit(uptime);
    if (decision.action === 'give_up') {
      this.#o.log.error({ handle: this.handle, exit: this.#lastExit, exits: decision.exits }, 'worker keeps crashing; marked errored until restarted or its files change');
      this.#setState('errored');
      this.#refuseWaiters();
      return;
    }
    this.#o.log.warn({ handle: this.handle, exit: this.#lastExit, restart_in_ms: decision.delayMs }, 'worker exited unexpectedly; restarting');
    this.#setState('backoff');
    this.#backoffTimer = setTimeout(() => {
      void this.#op(async () => {
        if (this.#state === 'backoff' && generation === this.#generation) await this.#spawn();
      });
    }, decision.delayMs);
  }

  /** Holds new requests, waits for in-flight ones (bounded), then stops the process if there is one. */
  async #shutdown(purpose: 'recycle' | 'stop'): Promise<void> {
    clearTimeout(this.#backoffTimer);
    clearTimeout(this.#startTimer);
    const proc = this.#proc;
    if (!proc?.running) return;
    this.#expectedExit.add(proc);
    // One budget for both steps, so a stop never takes longer than STOP_TIMEOUT_MS.
    const deadline = performance.now() + this.#o.settings.STOP_TIMEOUT_MS;
    if (this.#state === 'ready') {
      this.#drainingFor = purpose;
      this.#setState('draining');
      await this.#waitDrained(this.#o.settings.STOP_TIMEOUT_MS);
    }
    await proc.stop(Math.max(250, deadline - performance.now()));
    this.#killBrowser();
    this.#drainingFor = null;
  }

  #waitDrained(timeoutMs: number): Promise<void> {
    if (this.#inFlight === 0) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(done, timeoutMs);
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.#drained = done;
    });
  }

  /** A worker that exited cleanly closed its Chrome; one that crashed or was killed could not. */
  #killBrowser(): void {
    if (this.#browserPid !== null) killAll([this.#browserPid]);
    this.#browserPid = null;
  }

  #lease(): Lease {
    this.#inFlight += 1;
    let released = false;
    return {
      ok: true,
      target: this.#target,
      agent: this.#agent,
      generation: this.#generation,
      release: () => {
        if (released) return;
        released = true;
        this.#inFlight -= 1;
        if (this.#inFlight === 0 && this.#drained) {
          const done = this.#drained;
          this.#drained = null;
          done();
        }
      },
    };
  }

  #refusal(why?: string): Refusal {
    const name = this.handle ? `"${this.handle}"` : 'the setup worker';
    if (this.#state === 'errored') {
      return {
        ok: false,
        status: 503,
        code: 'worker_unavailable',
        message: `the worker for ${name} keeps crashing and was stopped; fix the cause, then restart it (POST /supervisor/api/workers/${this.handle ?? ''}/restart)`,
        extra: { handle: this.handle, state: 'errored', last_exit: this.#lastExit, problem: this.#problem, last_log_lines: this.logs.tail(20) },
        retryAfterSeconds: 30,
      };
    }
    return {
      ok: false,
      status: 503,
      code: 'worker_unavailable',
      message: `the worker for ${name} is not available (${why ?? this.#state}); try again shortly`,
      extra: { handle: this.handle, state: this.#state, ...(this.#problem ? { problem: this.#problem } : {}) },
      retryAfterSeconds: 2,
    };
  }

  #refuseWaiters(why?: string): void {
    for (const waiter of [...this.#waiters]) {
      this.#dropWaiter(waiter);
      waiter.resolve(this.#refusal(why));
    }
  }

  #dropWaiter(waiter: Waiter): void {
    clearTimeout(waiter.timer);
    waiter.signal?.removeEventListener('abort', waiter.onAbort);
    this.#waiters.delete(waiter);
  }

  #relayLogger(pid: number): Logger {
    const ring = this.logs;
    const destination = this.#o.logDestination;
    return createLogger({
      level: 'trace',
      base: { pid, handle: this.handle },
      destination: {
        write(line: string) {
          ring.push(line.trimEnd());
          destination.write(line);
        },
      },
    });
  }
}

const LEVEL_LABELS: Record<number, 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal'> = {
  10: 'trace',
  20: 'debug',
  30: 'info',
  40: 'warn',
  50: 'error',
  60: 'fatal',
};

/** Re-emits one worker line through the supervisor's stream, tagged and redacted again. */
function relayLine(relay: Logger, line: string, stream: 'stdout' | 'stderr'): void {
  if (!line.trim()) return;
  let parsed: Record<string, unknown> | null = null;
  if (line.startsWith('{')) {
    try {
      parsed = JSON.parse(line);
    } catch {
      parsed = null;
    }
  }
  if (!parsed || typeof parsed !== 'object') {
    relay[stream === 'stderr' ? 'warn' : 'info']({ stream }, line);
    return;
  }
  // `profile` repeats the `handle` the relay adds; `pid` and `time` are the relay's own.
  const { level, time: _time, pid: _pid, profile: _profile, msg, ...rest } = parsed;
  const label = LEVEL_LABELS[Number(level)] ?? 'info';
  relay[label](rest, typeof msg === 'string' ? msg : '');
}

function newAgent(): Agent {
  // Keep-alive to each worker: the proxy's hot path reuses sockets instead of a TCP handshake per request;
  // no Nagle delay on the small writes of proxied requests.
  return new http.Agent({ keepAlive: true, keepAliveMsecs: 1000, maxSockets: 256, maxFreeSockets: 64, timeout: 60_000, noDelay: true });
}
