import { Admission } from '../proxy/admission.ts';
import { LogRing } from './log-ring.ts';
import { OperationQueue, Waiters } from './operation-queue.ts';
import { WorkerWork } from './pending-recycle.ts';
import type { LifecycleOptions } from './lifecycle-events.ts';
import { PortMoves } from './port-moves.ts';
import { Crashes } from './crashes.ts';
import { CurrentProcess, type ProcessCallbacks } from './current-process.ts';
import type { Exit, ProcessEvent, ProcessHooks, RunningProcess } from './worker-process.ts';
import { describeWorker, handleOf, type WorkerSpec } from './worker-spec.ts';
import { projectStatus, type Problem, type Stage, type WorkerState, type WorkerStatus } from './worker-status.ts';

export type { WorkerState, WorkerStatus } from './worker-status.ts';
export type { LifecycleEvent, LifecycleOptions } from './lifecycle-events.ts';

/** One worker's lifecycle: an explicit state machine around the process its spawner starts
 *  (docs/architecture.md, "The worker state machine"). Reconcile tells it what to do (start, recycle, stop,
 *  retry, sleep); it tells its `Admission` which requests may pass. Operations run one at a time. Crashes
 *  are counted by its restart policy: a backoff, then reconcile's retry, or `errored` in a crash loop. A
 *  start that finds its port taken is that same start, continued on another port (`port-moves.ts`), not a
 *  crash, and not a new decision: it respawns by itself. */
export class WorkerLifecycle {
  readonly name: string;
  readonly admission: Admission;
  readonly logs = new LogRing(500);
  readonly #o: LifecycleOptions;
  readonly #crashes: Crashes;
  readonly #work = new WorkerWork();
  readonly #ports: PortMoves;
  #spec: WorkerSpec;
  #goal: 'running' | 'stopped' | 'idle' = 'stopped';
  #state: WorkerState = 'stopped';
  #drainingFor: WorkerStatus['draining_for'] = null;
  #restore: WorkerStatus['restore'] = null;
  #stage: Stage | null = null;
  readonly #process: CurrentProcess;
  #problem: Problem | null = null;
  readonly #ops: OperationQueue;
  /** Waiting for the process just spawned to be ready or gone. */
  readonly #spawnSettled = new Waiters();
  /** The process runs another build or other settings than this supervisor (it was adopted). */
  #older = false;
  /** The process was taken back from an earlier supervisor, not spawned: its `ready` is no spawn. */
  #adopting = false;

  constructor(spec: WorkerSpec, options: LifecycleOptions) {
    this.#spec = spec;
    this.name = spec.name;
    this.#o = options;
    this.#ports = new PortMoves(options.movePort, options.log);
    this.#ops = new OperationQueue(options.log, { handle: handleOf(spec) });
    const { startGate, settings } = options;
    this.#process = new CurrentProcess({ spawn: options.spawn, ring: this.logs, startGate, startTimeoutMs: settings.START_TIMEOUT_MS });
    this.#crashes = new Crashes({ maxRestarts: settings.MAX_RESTARTS, windowMs: settings.RESTART_WINDOW_MS, ...options.backoff }, () => options.onEvent({ kind: 'retry-due' }));
    const account = () => ({ state: this.#state, lastExit: this.#crashes.last, problem: this.#problem, recentLines: () => this.logs.tail(20) });
    this.admission = new Admission({ name: spec.name, handle: handleOf(spec), label: describeWorker(spec), account });
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
    return this.#state === 'backoff' && this.#crashes.retryDue;
  }

  get pid(): number | null {
    return this.#process.pid;
  }

  /** Ready and unused — no request, no stream, no work — for this long; 0 otherwise. */
  get idleForMs(): number {
    return this.#state === 'ready' && !this.#work.busy ? this.admission.idleForMs : 0;
  }

  /** A newer spec that needs nothing done to the process (its token file was refreshed). */
  accept(spec: WorkerSpec): void {
    this.#spec = this.#ports.keep(spec, this.#spec);
  }

  /** Starts the worker unless it is already running. Clears `errored`. */
  start(spec: WorkerSpec): Promise<void> {
    this.#run(spec);
    return this.#ops.run(async () => {
      if (this.#goal !== 'running' || this.#process.running) return;
      this.#crashes.forgive();
      await this.#spawn();
    });
  }

  /** Takes back a process an earlier supervisor started (`take` builds it around this lifecycle's hooks):
   *  running, with the restarts its record counts; ready as soon as it says it listens. */
  adopt(spec: WorkerSpec, restarts: number, take: (hooks: ProcessHooks) => RunningProcess): Promise<void> {
    this.#run(spec);
    return this.#ops.run(async () => {
      this.#crashes.carryOver(restarts);
      this.#problem = null;
      this.#adopting = true;
      this.#setStage('taking back its process', this.#o.settings.START_TIMEOUT_MS, Date.now());
      this.#setState('starting');
      this.#process.adopt(spec, this.#processCallbacks(), take);
    });
  }

  /** Its process runs an older build or other settings than this supervisor. */
  get older(): boolean {
    return this.#older && this.#process.running;
  }

  /** Graceful restart: the work under way may end first (bounded); then new requests are held, in-flight ones
   *  finish, and it starts again on the same port. Also the way out of `errored` and `backoff`. */
  recycle(spec: WorkerSpec, reason: string): Promise<void> {
    this.#run(spec);
    return this.#ops.run(async () => {
      if (this.#goal !== 'running') return;
      if (this.#state === 'ready' && this.#work.busy) {
        this.#o.log.info({ handle: handleOf(spec), reason, waiting_for: this.#work.names }, 'recycle pending: waiting for the work in progress');
        const waiting = this.#work.waitForEnd(reason, () => this.#state === 'ready');
        this.#changed();
        await waiting;
        if (this.#goal !== 'running') return; // a stop came meanwhile: it goes next
      }
      this.#o.log.info({ handle: handleOf(spec), reason }, 'recycling worker');
      const started = performance.now();
      this.#crashes.forgive();
      await this.#shutdown('recycle');
      await this.#spawn();
      // Waiting for the new process is not part of the operation: a stop (the supervisor's shutdown included)
      // must not queue behind a start that hangs until START_TIMEOUT_MS.
      void this.#whenSpawnSettled().then((ready) => ready && this.#o.onEvent({ kind: 'recycled', seconds: (performance.now() - started) / 1000 }));
    });
  }

  /** The backoff after a crash is over: start the next process. */
  retry(): Promise<void> {
    return this.#ops.run(async () => {
      if (this.#goal === 'running' && this.#state === 'backoff') await this.#spawn();
    });
  }

  /** Unused for too long: a graceful stop into `idle`, where the next request holds and asks for a start. */
  sleep(reason: string): Promise<void> {
    this.#goal = 'idle';
    return this.#ops.run(async () => {
      if (this.#goal !== 'idle' || this.#state === 'idle') return;
      if (this.#process.running) {
        this.#o.log.info({ handle: handleOf(this.#spec), reason }, 'stopping idle worker');
        await this.#shutdown('idle');
      }
      this.#setState('idle');
    });
  }

  /** Graceful stop; held requests are answered 503. A recycle waiting for work gives way to it. */
  stop(reason: string): Promise<void> {
    this.#goal = 'stopped';
    this.#work.giveUpWaiting();
    return this.#ops.run(async () => {
      if (this.#state === 'stopped') return;
      this.#o.log.info({ handle: handleOf(this.#spec), reason }, 'stopping worker');
      await this.#shutdown('stop');
      this.#setState('stopped', 'the worker was stopped');
    });
  }

  /** Resolves when every operation asked for so far is done and a process it spawned is ready or gone. */
  async settled(): Promise<void> {
    await this.#ops.idle();
    await this.#whenSpawnSettled();
  }

  status(): WorkerStatus {
    const { proc, port, startedAt } = this.#process;
    const { held, inFlight } = this.admission;
    return projectStatus({
      spec: this.#spec, state: this.#state, drainingFor: this.#drainingFor, proc, port, startedAt, restarts: this.#crashes.count, lastExit: this.#crashes.last,
      problem: this.#problem, older: this.older, held, inFlight, work: this.#work.names, pending: this.#work.pending, restore: this.#restore, portMoved: this.#ports.moved, stage: this.#stage,
    });
  }

  // ——— internals ———

  #run(spec: WorkerSpec): void {
    this.#spec = this.#ports.keep(spec, this.#spec);
    this.#goal = 'running';
    this.#ports.reset();
  }

  #changed(): void {
    this.#o.onEvent({ kind: 'changed' });
  }

  /** Resolves true once the process just spawned is ready, false if it exited first (or none is starting). */
  async #whenSpawnSettled(): Promise<boolean> {
    if (this.#state === 'starting') await this.#spawnSettled.wait();
    return this.#state === 'ready';
  }

  /** Every state change goes through here, and so does what it means for requests. */
  #setState(next: WorkerState, why?: string): void {
    const from = this.#state;
    if (from === next) return;
    this.#state = next;
    if (next === 'ready') this.admission.open(this.#process.target(this.#spec.port), this.#process.generation);
    else if (next === 'stopped' || next === 'errored') this.admission.close(why);
    else if (next === 'idle') this.admission.dormant(() => this.#o.onEvent({ kind: 'demand' }));
    else this.admission.hold();
    if (next !== 'starting' && next !== 'draining' && next !== 'backoff') this.#stage = null;
    this.#o.onEvent({ kind: 'state', from, to: next });
    this.#changed();
  }

  /** What the operation under way does now; `limitMs`: the most the whole operation takes. */
  #setStage(text: string, limitMs: number, startedAt = this.#stage?.started_at ?? Date.now()): void {
    this.#stage = { text, started_at: startedAt, limit_ms: limitMs };
    this.#changed();
  }

  async #spawn(): Promise<void> {
    this.#crashes.cancelRetry();
    this.#older = false;
    this.#adopting = false;
    this.#problem = null;
    this.#work.clear();
    this.#restore = null;
    const { START_TIMEOUT_MS } = this.#o.settings;
    this.#setStage('waiting for a free start slot', START_TIMEOUT_MS, Date.now());
    this.#setState('starting');
    await this.#process.spawn(this.#spec, this.#processCallbacks());
    this.#setStage('starting its process', START_TIMEOUT_MS);
  }

  #processCallbacks(): ProcessCallbacks {
    const { START_TIMEOUT_MS } = this.#o.settings;
    return {
      onEvent: (event) => this.#onProcessEvent(event),
      onListening: (proc) => this.#onReady(proc),
      onTimedOut: (proc) => {
        if (this.#state !== 'starting') return;
        this.#o.log.error({ handle: handleOf(this.#spec), pid: proc.pid, timeout_ms: START_TIMEOUT_MS }, 'worker did not become ready in time; killing it');
        this.#problem = { code: 'start_timeout', message: `did not become ready within ${START_TIMEOUT_MS} ms` };
        proc.kill();
      },
      onExit: (proc, exit, expected) => this.#onExit(proc, exit, expected),
    };
  }

  #onProcessEvent(event: Exclude<ProcessEvent, { kind: 'ready' }>): void {
    if (event.kind === 'fatal') this.#problem = { code: event.code, message: event.message, ...(event.port ? { port: event.port } : {}) };
    else if (event.kind === 'work') this.#work.set(event.running);
    else if (event.kind === 'restore') this.#restore = { state: event.state, failed: event.failed };
    else if (event.kind === 'linked') this.#older = this.#o.version !== undefined && (event.build !== this.#o.version.build || event.settings !== this.#o.version.settings);
    else this.#o.onEvent(event);
    this.#changed();
  }

  #onReady(proc: RunningProcess): void {
    if (this.#state !== 'starting') return;
    this.#ports.reset();
    this.#setState('ready');
    if (!this.#adopting) this.#o.onEvent({ kind: 'ready', spawnSeconds: (performance.now() - proc.startedAt) / 1000 });
    this.#adopting = false;
    this.#spawnSettled.release();
  }

  #onExit(proc: RunningProcess, exit: Exit, expected: boolean): void {
    this.#work.clear();
    const taken = !expected && this.#state === 'starting' ? this.#ports.taken(this.#spec, this.#problem) : null;
    // Not a crash: it starts again at once on another port, and whoever waits for this start waits on.
    if (taken !== null) return void this.#ops.run(() => this.#movePort(proc, taken, exit));
    this.#spawnSettled.release(); // whether we stopped it or it crashed: it will not become ready
    if (!expected) this.#crashed(proc, exit);
  }

  async #movePort(proc: RunningProcess, taken: number, exit: Exit): Promise<void> {
    if (proc !== this.#process.proc || this.#state !== 'starting' || this.#goal !== 'running') return this.#spawnSettled.release(); // a stop came meanwhile
    const moved = await this.#ports.move(this.#spec, taken);
    if ('spec' in moved) this.#spec = moved.spec;
    if ('spec' in moved && this.#goal === 'running') return this.#spawn();
    this.#spawnSettled.release(); // no port to move to, or a stop came meanwhile (it goes next)
    if ('problem' in moved) {
      this.#problem = moved.problem;
      this.#crashed(proc, exit);
    }
  }

  /** An exit nobody asked for: counted by the restart policy, then a backoff or `errored`. */
  #crashed(proc: RunningProcess, exit: Exit): void {
    const decision = this.#crashes.record(proc.startedAt, exit, this.#problem?.code ?? (this.#state === 'starting' ? 'exited_during_start' : 'crashed'));
    this.#o.onEvent({ kind: 'crashed' });
    const fields = { handle: handleOf(this.#spec), exit: this.#crashes.last };
    if (decision.action === 'give_up') {
      this.#o.log.error({ ...fields, exits: decision.exits }, 'worker keeps crashing; marked errored until restarted or its files change');
      return this.#setState('errored');
    }
    this.#o.log.warn({ ...fields, restart_in_ms: decision.delayMs }, 'worker exited unexpectedly; restarting');
    this.#setStage(`waiting ${Math.round(decision.delayMs / 100) / 10} s before it starts again`, decision.delayMs, Date.now());
    this.#setState('backoff');
  }

  /** Holds new requests, waits for in-flight ones (bounded), then stops the process if there is one. */
  async #shutdown(purpose: 'recycle' | 'stop' | 'idle'): Promise<void> {
    this.#crashes.cancelRetry();
    const proc = this.#process.expectExit();
    if (!proc) return;
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
    this.#work.clear();
  }
}
