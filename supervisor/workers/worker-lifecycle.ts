import type { DestinationStream } from 'pino';
import type { WorkerMessage } from '../../shared/runtime/ipc.ts';
import type { Logger } from '../../shared/runtime/logger.ts';
import { Admission, type UpstreamTarget } from '../proxy/admission.ts';
import { LogRing } from './log-ring.ts';
import { workerLogRelay } from './log-relay.ts';
import { rssBytes } from './process-tree.ts';
import { RestartPolicy, type RestartPolicyOptions } from './restart-policy.ts';
import type { StartGate } from './start-gate.ts';
import type { Exit, RunningProcess, Spawner } from './worker-process.ts';
import { describeWorker, handleOf, type WorkerSpec } from './worker-spec.ts';

/** docs/architecture.md, "The worker state machine". */
export type WorkerState = 'starting' | 'ready' | 'draining' | 'stopped' | 'idle' | 'backoff' | 'errored';

export interface LastExit {
  code: number | null;
  signal: string | null;
  at: string;
  reason: string;
}

export interface WorkerStatus {
  /** The profile's handle, or the setup worker's name. */
  name: string;
  /** The profile it serves; `null` for the setup worker. */
  handle: string | null;
  state: WorkerState;
  /** Why it is draining: a recycle (comes back), a stop (does not), or idleness (comes back on demand). */
  draining_for: 'recycle' | 'stop' | 'idle' | null;
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
  /** What it is in the middle of (init-all, pull-csv, load-sheet, restore, …). */
  work: string[];
  /** A recycle that waits for that work to end (no longer than the work's own limit). */
  pending: { action: 'recycle'; reason: string; waiting_for: string[]; until: string } | null;
  /** The profile's Chrome is open (a recycle closes it, and the restore opens it again). */
  browser_open: boolean;
  /** Bringing the profile's work back after a start: under way, done, and what could not come back. */
  restore: { state: 'restoring' | 'done'; failed: string[] } | null;
  /** Its port was taken by another program, so it was moved (the latest move since the supervisor started). */
  /** `saved`: in ports.json (false while that file is corrupt: the port holds until the supervisor restarts). */
  port_moved: { from: number; to: number; at: string; saved: boolean } | null;
  /** What a start, stop or backoff is doing now, since when (ms since the epoch), and the most it takes. */
  stage: { text: string; started_at: number; limit_ms: number } | null;
}

export type WorkerEvent = { kind: 'ready'; spawnSeconds: number } | { kind: 'recycled'; seconds: number } | { kind: 'crashed' };

export interface LifecycleOptions {
  spawn: Spawner;
  settings: { START_TIMEOUT_MS: number; STOP_TIMEOUT_MS: number; MAX_RESTARTS: number; RESTART_WINDOW_MS: number };
  log: Logger;
  /** Where worker lines are re-emitted (the supervisor's stdout). */
  logDestination: DestinationStream;
  /** Limits how many workers start at once (shared by all workers of a supervisor). */
  startGate?: StartGate;
  /** Backoff timing (tests shorten it); the limits come from `settings`. */
  backoff?: Pick<RestartPolicyOptions, 'baseDelayMs' | 'maxDelayMs' | 'stableAfterMs'>;
  /** A message the lifecycle does not handle itself (a switch). */
  onMessage(message: WorkerMessage): void;
  /** A backoff delay is over, or a request waits for a sleeping worker: reconcile decides what to do. */
  onRetryDue(): void;
  onDemand(): void;
  onStateChange?(previous: WorkerState, next: WorkerState): void;
  /** Anything in its status changed (state, stage, work, restore): the dashboard follows it live. */
  onChange?(): void;
  /** Measurements for metrics: a process became ready, a recycle finished, a process crashed. */
  onEvent?(event: WorkerEvent): void;
  /** Its port is taken by another program (`port_conflict` during a start): the port it should use instead,
   *  already saved where ports are kept, or `null` when there is none. Without it, a taken port is a crash. */
  movePort?(name: string, taken: number): Promise<{ port: number; saved: boolean } | null>;
}

/** Port moves in a row without becoming ready before a taken port counts as a crash again (a port that looks
 *  free to the probe but not to the worker must not walk through every port). */
const MAX_PORT_MOVES = 3;

/** One worker's lifecycle: an explicit state machine around the process its spawner starts. Reconcile
 *  tells it what to do (start, recycle, stop, retry); it tells its `Admission` which requests may pass.
 *  Operations run one at a time. Crashes are counted by its restart policy: a backoff, then reconcile's
 *  retry, or `errored` in a crash loop. A start that finds its port taken by another program is not a crash:
 *  it asks `movePort` for another port and starts again there at once. */
export class WorkerLifecycle {
  readonly name: string;
  readonly admission: Admission;
  readonly logs = new LogRing(500);
  readonly #o: LifecycleOptions;
  readonly #policy: RestartPolicy;
  #spec: WorkerSpec;
  #goal: 'running' | 'stopped' | 'idle' = 'stopped';
  #state: WorkerState = 'stopped';
  #drainingFor: 'recycle' | 'stop' | 'idle' | null = null;
  /** What its process said it is in the middle of, each with the time it must be done by. */
  #work: { name: string; until: number }[] = [];
  #workChanged: (() => void) | null = null;
  #pending: WorkerStatus['pending'] = null;
  /** Ends the wait of a pending recycle (a stop does not wait). */
  #stopWaiting: (() => void) | null = null;
  #restore: WorkerStatus['restore'] = null;
  #stage: WorkerStatus['stage'] = null;
  #portMoved: WorkerStatus['port_moved'] = null;
  /** Port moves since it was last ready (or told to start). */
  #portMoves = 0;
  #proc: RunningProcess | null = null;
  #generation = 0;
  /** Where the current process listens (from its `ready` message). */
  #address: { port: number; socket: string | null } | null = null;
  #startedAtWall: Date | null = null;
  #restarts = 0;
  #lastExit: LastExit | null = null;
  #problem: WorkerStatus['problem'] = null;
  #startTimer: NodeJS.Timeout | undefined;
  #backoffTimer: NodeJS.Timeout | undefined;
  #retryAt: number | null = null;
  #ops: Promise<void> = Promise.resolve();
  #leaveGate: () => void = () => {};
  /** Waiting for the process just spawned to be ready or gone. */
  readonly #settleWaiters = new Set<() => void>();
  /** Exits we caused (stop, recycle, start timeout) are not crashes. */
  readonly #expectedExit = new WeakSet<RunningProcess>();

  constructor(spec: WorkerSpec, options: LifecycleOptions) {
    this.#spec = spec;
    this.name = spec.name;
    this.#o = options;
    this.#policy = new RestartPolicy({ maxRestarts: options.settings.MAX_RESTARTS, windowMs: options.settings.RESTART_WINDOW_MS, ...options.backoff });
    this.admission = new Admission({
      name: spec.name,
      handle: handleOf(spec),
      label: describeWorker(spec),
      account: () => ({
        state: this.#state,
        lastExit: this.#lastExit,
        problem: this.#problem,
        recentLines: () => this.logs.tail(20),
      }),
    });
  }

  /** The spec it was last given. */
  get spec(): WorkerSpec {
    return this.#spec;
  }

  /** Whether it was last told to run, to stop, or to sleep until a request comes. */
  get goal(): 'running' | 'stopped' | 'idle' {
    return this.#goal;
  }

  get state(): WorkerState {
    return this.#state;
  }

  /** In `backoff`, and the delay is over. */
  get retryDue(): boolean {
    return this.#state === 'backoff' && this.#retryAt !== null && performance.now() >= this.#retryAt;
  }

  get pid(): number | null {
    return this.#proc?.running ? this.#proc.pid : null;
  }

  /** Ready and unused — no request, no stream, no work — for this long; 0 otherwise. */
  get idleForMs(): number {
    return this.#state === 'ready' && this.#work.length === 0 ? this.admission.idleForMs : 0;
  }

  /** A newer spec that needs nothing done to the process (its token file was refreshed). */
  accept(spec: WorkerSpec): void {
    this.#spec = this.#keepMovedPort(spec);
  }

  /** Starts the worker unless it is already running. Clears `errored`. */
  start(spec: WorkerSpec): Promise<void> {
    this.#spec = this.#keepMovedPort(spec);
    this.#goal = 'running';
    return this.#op(async () => {
      if (this.#goal !== 'running' || this.#proc?.running) return;
      this.#policy.reset();
      this.#portMoves = 0;
      await this.#spawn();
    });
  }

  /** Graceful restart: hold new requests, let in-flight ones finish, stop, start again on the same port.
   *  Also the way out of `errored` and `backoff`. */
  recycle(spec: WorkerSpec, reason: string): Promise<void> {
    this.#spec = this.#keepMovedPort(spec);
    this.#goal = 'running';
    let started = 0;
    return this.#op(async () => {
      if (this.#goal !== 'running') return;
      await this.#waitForWork(reason);
      if (this.#goal !== 'running') return; // a stop came meanwhile: it goes next
      this.#o.log.info({ handle: handleOf(spec), reason }, 'recycling worker');
      started = performance.now();
      this.#policy.reset();
      this.#portMoves = 0;
      await this.#shutdown('recycle');
      await this.#spawn();
      // Waiting for the new process is not part of the operation: a stop (the supervisor's shutdown
      // included) must not queue behind a start that hangs until START_TIMEOUT_MS.
      void this.#whenSpawnSettled().then((ready) => {
        if (ready) this.#o.onEvent?.({ kind: 'recycled', seconds: (performance.now() - started) / 1000 });
      });
    });
  }

  /** The backoff after a crash is over: start the next process. */
  retry(): Promise<void> {
    return this.#op(async () => {
      if (this.#goal === 'running' && this.#state === 'backoff') await this.#spawn();
    });
  }

  /** Unused for too long: a graceful stop into `idle`, where the next request holds and asks for a start. */
  sleep(reason: string): Promise<void> {
    this.#goal = 'idle';
    return this.#op(async () => {
      if (this.#goal !== 'idle' || this.#state === 'idle') return;
      if (this.#proc?.running) {
        this.#o.log.info({ handle: handleOf(this.#spec), reason }, 'stopping idle worker');
        await this.#shutdown('idle');
      }
      this.#setState('idle');
    });
  }

  /** Graceful stop; held requests are answered 503. A recycle waiting for work gives way to it. */
  stop(reason: string): Promise<void> {
    this.#goal = 'stopped';
    this.#stopWaiting?.();
    return this.#op(async () => {
      if (this.#state === 'stopped') return;
      this.#o.log.info({ handle: handleOf(this.#spec), reason }, 'stopping worker');
      await this.#shutdown('stop');
      this.#setState('stopped', 'the worker was stopped');
    });
  }

  /** Resolves when every operation asked for so far is done and a process it spawned is ready or gone. */
  async settled(): Promise<void> {
    for (let ops = this.#ops; ; ops = this.#ops) {
      await ops;
      if (ops === this.#ops) break;
    }
    await this.#whenSpawnSettled();
  }

  status(): WorkerStatus {
    const pid = this.pid;
    const up = this.#state === 'ready' || this.#state === 'draining';
    const port = this.#address?.port || this.#spec.port;
    return {
      name: this.name,
      handle: handleOf(this.#spec),
      state: this.#state,
      draining_for: this.#state === 'draining' ? this.#drainingFor : null,
      pid,
      port,
      direct_url: port ? `http://127.0.0.1:${port}/` : null,
      started_at: up && this.#startedAtWall ? this.#startedAtWall.toISOString() : null,
      uptime_ms: up && this.#proc ? Math.round(performance.now() - this.#proc.startedAt) : null,
      restarts: this.#restarts,
      last_exit: this.#lastExit,
      problem: this.#problem,
      rss_bytes: pid ? rssBytes(pid) : null,
      held_requests: this.admission.held,
      in_flight: this.admission.inFlight,
      work: this.#work.map((w) => w.name),
      pending: this.#pending,
      browser_open: this.#proc?.running ? this.#proc.browserOpen : false,
      restore: this.#restore,
      port_moved: this.#portMoved,
      stage: this.#stage,
    };
  }

  // ——— internals ———

  #op(task: () => Promise<void>): Promise<void> {
    const run = this.#ops.then(task, task);
    this.#ops = run.catch((error) => this.#o.log.error({ err: error, handle: handleOf(this.#spec) }, 'worker lifecycle operation failed'));
    return run;
  }

  /** Resolves true once the process just spawned is ready, false if it exited first (or none is starting). */
  #whenSpawnSettled(): Promise<boolean> {
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

  /** Every state change goes through here, and so does what it means for requests. */
  #setState(next: WorkerState, why?: string): void {
    const previous = this.#state;
    if (previous === next) return;
    this.#state = next;
    if (next === 'ready') this.admission.open(this.#target(), this.#generation);
    else if (next === 'stopped' || next === 'errored') this.admission.close(why);
    else if (next === 'idle') this.admission.dormant(() => this.#o.onDemand());
    else this.admission.hold();
    if (next !== 'starting' && next !== 'draining' && next !== 'backoff') this.#stage = null;
    this.#o.onStateChange?.(previous, next);
    this.#o.onChange?.();
  }

  /** What the operation under way does now; `limitMs`: the most the whole operation takes. */
  #setStage(text: string, limitMs: number, startedAt = this.#stage?.started_at ?? Date.now()): void {
    this.#stage = { text, started_at: startedAt, limit_ms: limitMs };
    this.#o.onChange?.();
  }

  #target(): UpstreamTarget {
    const { port, socket } = this.#address ?? { port: this.#spec.port, socket: null };
    return socket ? { socketPath: socket, host: '127.0.0.1', port } : new URL(`http://127.0.0.1:${port}`);
  }

  async #spawn(): Promise<void> {
    clearTimeout(this.#backoffTimer);
    this.#retryAt = null;
    const generation = ++this.#generation;
    this.#problem = null;
    this.#address = null;
    this.#work = [];
    this.#restore = null;
    const { START_TIMEOUT_MS } = this.#o.settings;
    this.#setStage('waiting for a free start slot', START_TIMEOUT_MS, Date.now());
    this.#setState('starting');
    this.#leaveGate();
    this.#leaveGate = (await this.#o.startGate?.enter()) ?? (() => {});
    this.#setStage('starting its process', START_TIMEOUT_MS);
    let relay: ((line: string, stream: 'stdout' | 'stderr') => void) | null = null;
    const proc = this.#o.spawn(this.#spec, {
      onMessage: (message) => {
        if (generation !== this.#generation) return;
        if (message.type === 'ready') this.#onReady(proc, message.port, message.socket ?? null);
        else if (message.type === 'fatal') this.#problem = { code: message.code, message: message.message, ...(message.port ? { port: message.port } : {}) };
        else if (message.type === 'work') this.#onWork(message.running);
        else if (message.type === 'restore') {
          this.#restore = { state: message.state, failed: message.failed };
          this.#o.onChange?.();
        }
        else this.#o.onMessage(message);
      },
      onLine: (line, stream) => {
        relay ??= workerLogRelay({ handle: handleOf(this.#spec), pid: proc.pid, ring: this.logs, destination: this.#o.logDestination });
        relay(line, stream);
      },
    });
    this.#proc = proc;
    this.#startTimer = setTimeout(() => {
      if (generation !== this.#generation || this.#state !== 'starting') return;
      this.#o.log.error({ handle: handleOf(this.#spec), pid: proc.pid, timeout_ms: START_TIMEOUT_MS }, 'worker did not become ready in time; killing it');
      this.#problem = { code: 'start_timeout', message: `did not become ready within ${START_TIMEOUT_MS} ms` };
      proc.kill();
    }, START_TIMEOUT_MS);
    void proc.exited.then((exit) => this.#onExit(proc, generation, exit));
  }

  #onReady(proc: RunningProcess, port: number, socket: string | null): void {
    if (this.#state !== 'starting' || proc !== this.#proc) return;
    clearTimeout(this.#startTimer);
    this.#leaveGate();
    this.#address = { port: port || this.#spec.port, socket };
    this.#portMoves = 0;
    this.#startedAtWall = new Date();
    this.#setState('ready');
    this.#o.onEvent?.({ kind: 'ready', spawnSeconds: (performance.now() - proc.startedAt) / 1000 });
    this.#settle();
  }

  #onExit(proc: RunningProcess, generation: number, exit: Exit): void {
    const current = generation === this.#generation;
    if (current) {
      clearTimeout(this.#startTimer);
      this.#leaveGate();
      this.#work = []; // whatever it was doing died with it
      this.#workChanged?.();
    }
    if (current && !this.#expectedExit.has(proc)) {
      const taken = this.#takenPort();
      if (taken !== null) {
        // Not a crash: it starts again at once on another port, and whoever waits for this start waits on.
        void this.#op(() => this.#movePort(proc, taken, exit));
        return;
      }
    }
    if (current) this.#settle(); // whether we stopped it or it crashed: it will not become ready
    if (this.#expectedExit.has(proc) || !current) return;
    this.#crashed(proc, exit);
  }

  /** The port this start could not listen on because another program holds it, when the lifecycle may move
   *  the worker to another one; `null` otherwise (a crash like any other). */
  #takenPort(): number | null {
    if (!this.#o.movePort || this.#state !== 'starting' || this.#spec.port === 0) return null;
    if (this.#problem?.code !== 'port_conflict' || this.#portMoves >= MAX_PORT_MOVES) return null;
    return this.#problem.port ?? this.#spec.port;
  }

  /** Asks for another port for a worker whose port is taken and starts it there at once: no backoff, no
   *  restart counted. Without a port to move to, the exit is the crash it was. */
  async #movePort(proc: RunningProcess, taken: number, exit: Exit): Promise<void> {
    if (proc !== this.#proc || this.#state !== 'starting' || this.#goal !== 'running') {
      this.#settle(); // a stop came meanwhile: it goes next (the port moves at the next start)
      return;
    }
    this.#portMoves += 1;
    const handle = handleOf(this.#spec);
    let moved: { port: number; saved: boolean } | null = null;
    try {
      moved = await this.#o.movePort!(this.name, taken);
    } catch (error) {
      this.#o.log.error({ err: error, handle, port: taken }, 'cannot move the worker to another port');
    }
    const to = moved?.port ?? null;
    if (moved === null || to === taken) {
      this.#problem = {
        code: 'port_conflict',
        port: taken,
        message: `port ${taken} is in use by another program and no free port was found to move to: stop that program, or give the profile another port in ports.json and restart it`,
      };
      this.#settle();
      this.#crashed(proc, exit);
      return;
    }
    this.#spec = { ...this.#spec, port: moved.port };
    this.#portMoved = { from: taken, to: moved.port, at: new Date().toISOString(), saved: moved.saved };
    const where = moved.saved ? 'saved in ports.json' : 'until the supervisor restarts: ports.json is corrupt';
    this.#o.log.warn({ handle, from: taken, to: moved.port }, `port ${taken} is taken by another program; the worker now uses port ${moved.port} (${where})`);
    if (this.#goal !== 'running') {
      this.#settle(); // a stop came meanwhile: it goes next
      return;
    }
    await this.#spawn();
  }

  /** A spec from a pass that read the ports before a move still has the port moved away from: it keeps
   *  the new one (the registry never gives the old one back). */
  #keepMovedPort(spec: WorkerSpec): WorkerSpec {
    return this.#portMoved && spec.port === this.#portMoved.from && this.#spec.port === this.#portMoved.to ? { ...spec, port: this.#portMoved.to } : spec;
  }

  /** An exit nobody asked for: counted by the restart policy, then a backoff or `errored`. */
  #crashed(proc: RunningProcess, exit: Exit): void {
    const uptime = performance.now() - proc.startedAt;
    this.#lastExit = {
      code: exit.code,
      signal: exit.signal,
      at: new Date().toISOString(),
      reason: this.#problem?.code ?? (this.#state === 'starting' ? 'exited_during_start' : 'crashed'),
    };
    this.#restarts += 1;
    this.#o.onEvent?.({ kind: 'crashed' });
    const decision = this.#policy.recordExit(uptime);
    const handle = handleOf(this.#spec);
    if (decision.action === 'give_up') {
      this.#o.log.error({ handle, exit: this.#lastExit, exits: decision.exits }, 'worker keeps crashing; marked errored until restarted or its files change');
      this.#setState('errored');
      return;
    }
    this.#o.log.warn({ handle, exit: this.#lastExit, restart_in_ms: decision.delayMs }, 'worker exited unexpectedly; restarting');
    this.#retryAt = performance.now() + decision.delayMs;
    this.#setStage(`waiting ${Math.round(decision.delayMs / 100) / 10} s before it starts again`, decision.delayMs, Date.now());
    this.#setState('backoff');
    this.#backoffTimer = setTimeout(() => this.#o.onRetryDue(), decision.delayMs);
  }

  /** Holds new requests, waits for in-flight ones (bounded), then stops the process if there is one. */
  async #shutdown(purpose: 'recycle' | 'stop' | 'idle'): Promise<void> {
    clearTimeout(this.#backoffTimer);
    clearTimeout(this.#startTimer);
    this.#retryAt = null;
    const proc = this.#proc;
    if (!proc?.running) return;
    this.#expectedExit.add(proc);
    // One budget for both steps, so a stop never takes longer than STOP_TIMEOUT_MS.
    const { STOP_TIMEOUT_MS } = this.#o.settings;
    const deadline = performance.now() + STOP_TIMEOUT_MS;
    const started = Date.now();
    if (this.#state === 'ready') {
      this.#drainingFor = purpose;
      this.#setStage('letting its requests finish', STOP_TIMEOUT_MS, started);
      this.#setState('draining');
      await this.admission.drained(STOP_TIMEOUT_MS);
    }
    this.#setStage('stopping its process', STOP_TIMEOUT_MS, started);
    await proc.stop(Math.max(250, deadline - performance.now()));
    this.#drainingFor = null;
    this.#work = [];
  }

  #onWork(running: { name: string; limit_ms: number }[]): void {
    const now = performance.now();
    this.#work = running.map((w) => ({ name: w.name, until: now + w.limit_ms }));
    this.#workChanged?.();
    this.#o.onChange?.();
  }

  /** A recycle lets the work in progress finish first — until it ends, its limit passes, or a stop comes. The
   *  worker keeps serving meanwhile; the status shows the recycle as pending. */
  async #waitForWork(reason: string): Promise<void> {
    if (this.#state !== 'ready' || this.#work.length === 0) return;
    const until = Math.max(...this.#work.map((w) => w.until));
    this.#pending = { action: 'recycle', reason, waiting_for: this.#work.map((w) => w.name), until: new Date(Date.now() + (until - performance.now())).toISOString() };
    this.#o.log.info({ handle: handleOf(this.#spec), reason, waiting_for: this.#pending.waiting_for }, 'recycle pending: waiting for the work in progress');
    await new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.#workChanged = null;
        this.#stopWaiting = null;
        resolve();
      };
      const timer = setTimeout(done, Math.max(0, until - performance.now()));
      this.#workChanged = () => {
        if (this.#pending) this.#pending.waiting_for = this.#work.map((w) => w.name);
        if (this.#work.length === 0 || this.#state !== 'ready') done();
      };
      this.#stopWaiting = done;
    });
    this.#pending = null;
  }
}
