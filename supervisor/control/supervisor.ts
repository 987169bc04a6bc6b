import os from 'node:os';
import { parseHandle, type Handle } from '../../shared/profiles/handle.ts';
import type { CurrentProfile } from '../../shared/profiles/current-profile.ts';
import type { Logger } from '../../shared/runtime/logger.ts';
import type { ProfileStore } from '../../shared/profiles/profile-store.ts';
import type { Settings } from '../../shared/runtime/settings.ts';
import { desiredState, readConfigSnapshot, type DesiredState } from './desired-state.ts';
import { plan, type Action, type ActualWorker } from './reconcile.ts';
import { WorkerLifecycle, type LifecycleEvent, type LifecycleOptions, type WorkerStatus } from '../workers/worker-lifecycle.ts';
import type { Version } from '../workers/lifecycle-events.ts';
import type { PortRegistry } from './port-registry.ts';
import type { Spawner } from '../workers/worker-process.ts';
import type { Adoptable } from '../workers/adoption.ts';
import { WorkerRequests } from './worker-requests.ts';
import { handleOf, type WorkerSpec } from '../workers/worker-spec.ts';
import { StartGate } from '../workers/start-gate.ts';

export interface SupervisorOptions {
  settings: Settings;
  store: ProfileStore;
  ports: PortRegistry;
  spawn: Spawner;
  log: Logger;
  /** The build and settings this supervisor runs with (an adopted worker with others is older). */
  version?: Version;
  /** `BLAZE_PROFILE` given to the supervisor itself pins the current profile (the guide's first priority). */
  pinned: Handle | null;
  /** Backoff timing after a crash (tests shorten it). */
  backoff?: LifecycleOptions['backoff'];
  onWorkerEvent?(name: string, event: LifecycleEvent): void;
  /** Whether the person a worker names (`by`: a user's name, `local` or `SUPERVISOR_TOKEN`) may make `handle`
   *  the current profile: a worker's switch message is carried out only then. */
  maySwitch(by: string, handle: Handle): boolean;
}

/** The hub (docs/architecture.md, "The reconcile loop"): reads the desired state from the files and the
 *  requests made through the API, compares it with the workers that exist, and acts on the difference —
 *  the only code that starts, stops and recycles workers, one pass at a time. Events only ask for a pass. */
export class Supervisor {
  readonly #o: SupervisorOptions;
  readonly #workers = new Map<string, WorkerLifecycle>();
  readonly #requests = new WorkerRequests();
  #desired: DesiredState = { current: { handle: null, source: 'none' }, workers: [] };
  readonly #stopping = new Set<Promise<void>>();
  readonly #startGate = new StartGate(os.availableParallelism());
  #pass: Promise<void> | null = null;
  #again = false;
  #idleTimer: NodeJS.Timeout | undefined;
  #shuttingDown = false;
  /** Workers of an earlier supervisor, until the first pass takes or releases them. */
  readonly #adoptable = new Map<string, Adoptable>();
  readonly #listeners = new Set<() => void>();

  constructor(options: SupervisorOptions) {
    this.#o = options;
  }

  get current(): Handle | null {
    return this.#desired.current.handle;
  }

  get firstRun(): boolean {
    return this.#desired.workers.some((w) => w.role === 'setup');
  }

  /** The worker of a profile. */
  worker(handle: Handle): WorkerLifecycle | undefined {
    return this.#workers.get(handle);
  }

  /** Where the guide's unprefixed `/api/…` goes: the current profile's worker, or the setup worker. */
  apiWorker(): WorkerLifecycle | undefined {
    const current = this.#desired.current.handle;
    if (current) return this.#workers.get(current);
    const setup = this.#desired.workers.find((w) => w.role === 'setup');
    return setup && this.#workers.get(setup.name);
  }

  list(): (WorkerStatus & { is_current: boolean })[] {
    const current = this.#desired.current.handle;
    return [...this.#workers.values()].map((w) => {
      const status = w.status();
      return { ...status, is_current: status.handle === current };
    });
  }

  /** `listener` runs whenever any worker's status changes, or the set of workers, or the current profile;
   *  returns the function that stops it. */
  onChange(listener: () => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  #changed(): void {
    for (const listener of this.#listeners) listener();
  }

  /** How many workers are in each state: cheap, for health checks (`list` reads each process's memory). */
  countByState(): Record<string, number> {
    const counts: Record<string, number> = {};
    for (const w of this.#workers.values()) counts[w.state] = (counts[w.state] ?? 0) + 1;
    return counts;
  }

  /** Asks for a reconciliation pass; concurrent asks share one extra pass. Resolves when the state asked
   *  for has been acted on (the actions are under way, not finished: see `settled`). */
  reconcile(): Promise<void> {
    if (this.#pass) {
      this.#again = true;
      return this.#pass;
    }
    this.#pass = (async () => {
      try {
        do {
          this.#again = false;
          await this.#passOnce();
        } while (this.#again);
      } catch (error) {
        this.#o.log.error({ err: error }, 'reconciliation failed; retrying at the next change or resync');
      } finally {
        this.#pass = null;
      }
    })();
    return this.#pass;
  }

  /** `POST …/:h/restart`, and the switch: the worker is recycled (started if it was stopped). Resolves once
   *  its new process is ready or has failed. */
  restart(handle: Handle, reason = 'restart requested'): Promise<void> {
    this.#requests.restart(handle, reason);
    return this.#reconcileAndSettle(handle);
  }

  /** `POST …/:h/stop`: stopped until started, restarted or switched to; resolves once it is stopped. */
  stopWorker(handle: Handle): Promise<void> {
    this.#requests.disable(handle);
    return this.#reconcileAndSettle(handle);
  }

  /** `POST …/:h/start` (also wakes a worker asleep after being idle); resolves once it is ready or has
   *  failed. */
  startWorker(handle: Handle): Promise<void> {
    this.#requests.start(handle);
    return this.#reconcileAndSettle(handle);
  }

  /** Carries out "switch requires restart" after last_profile.json was written: the pass reads the new
   *  current profile and recycles its worker. */
  switchTo(handle: Handle): Promise<void> {
    return this.restart(handle, 'switched to this profile');
  }

  /** `POST /supervisor/api/current`: the same switch, for the dashboard. */
  async makeCurrent(handle: Handle): Promise<void> {
    await this.#o.store.writeLastProfile(handle);
    await this.switchTo(handle);
  }

  /** Removes the profile's token file (as the guide's delete does); the pass then stops its worker. */
  async deleteProfile(handle: Handle): Promise<boolean> {
    const removed = await this.#o.store.deleteToken(handle);
    await this.reconcile();
    return removed;
  }

  /** Workers an earlier supervisor started: the next pass takes back each one whose profile still wants a
   *  worker (as it was: a changed file is then reconciled as usual) and releases the others. */
  adopt(adoptables: readonly Adoptable[]): void {
    for (const a of adoptables) this.#adoptable.set(a.name, a);
  }

  /** Moves every worker that runs an older version to this one, one at a time, each once its work has
   *  ended (a recycle; the restore brings the work back). Returns their names; the moves go on after. */
  upgradeOlder(): string[] {
    const older = [...this.#workers.values()].filter((w) => w.older);
    void (async () => {
      for (const worker of older) {
        if (this.#shuttingDown || this.#workers.get(worker.name) !== worker || !worker.older) continue;
        const handle = parseHandle(worker.name);
        if (worker.spec.role === 'profile' && handle) await this.restart(handle, 'moved to the new version');
        else await worker.recycle(worker.spec, 'moved to the new version').then(() => worker.settled());
      }
    })().catch((error) => this.#o.log.error({ err: error }, 'moving workers to the new version failed'));
    return older.map((w) => w.name);
  }

  /** The process of worker `name`, while it runs. */
  pidOf(name: string): number | null {
    return this.#workers.get(name)?.pid ?? null;
  }

  /** The crashes counted for worker `name` (its record carries them to the next supervisor). */
  restartsOf(name: string): number {
    return this.#workers.get(name)?.status().restarts ?? 0;
  }

  /** Leaves the workers running for the next supervisor (it adopts them): only the timers stop. */
  leave(): void {
    this.#shuttingDown = true;
    clearTimeout(this.#idleTimer);
  }

  /** Stops every worker gracefully, in parallel. */
  async shutdown(): Promise<void> {
    this.#shuttingDown = true;
    clearTimeout(this.#idleTimer);
    await this.#pass;
    await Promise.all([...[...this.#workers.values()].map((w) => w.stop('supervisor stopping')), ...this.#stopping]);
  }

  async #reconcileAndSettle(handle: Handle): Promise<void> {
    await this.reconcile();
    await this.#workers.get(handle)?.settled();
  }

  async #passOnce(): Promise<void> {
    if (this.#shuttingDown) return;
    const snapshot = await readConfigSnapshot(this.#o.store, this.#o.ports, this.#o.settings.PROFILES);
    if (this.#shuttingDown) return;
    const desired = desiredState(snapshot, { pinned: this.#o.pinned, idleAfterMs: this.#o.settings.IDLE_TIMEOUT_MS }, this.#requests);
    this.#noteCurrent(desired.current);
    this.#desired = desired;
    const actual = new Map<string, ActualWorker>(
      [...this.#workers].map(([name, w]) => [name, { spec: w.spec, goal: w.goal, state: w.state, retryDue: w.retryDue, idleForMs: w.idleForMs, demanded: w.admission.held > 0 }]),
    );
    for (const action of plan(desired.workers, actual)) this.#apply(action);
    this.#releaseUnwanted();
    this.#wakeForIdle();
  }

  /** Adoptable workers the pass did not take: their profile is gone. */
  #releaseUnwanted(): void {
    for (const adoptable of this.#adoptable.values()) {
      this.#o.log.info({ name: adoptable.name }, 'a worker of the earlier supervisor is no longer wanted (its profile was removed); stopping it');
      const stop = adoptable.release();
      this.#stopping.add(stop);
      void stop.finally(() => this.#stopping.delete(stop));
    }
    this.#adoptable.clear();
  }

  /** With IDLE_TIMEOUT_MS, a pass when the first ready worker's idle time runs out. */
  #wakeForIdle(): void {
    clearTimeout(this.#idleTimer);
    const timeout = this.#o.settings.IDLE_TIMEOUT_MS;
    if (timeout <= 0) return;
    let soonest = Infinity;
    for (const w of this.#workers.values()) {
      if (w.state === 'ready' && w.spec.idleAfterMs > 0) soonest = Math.min(soonest, w.idleForMs === 0 ? timeout : timeout - w.idleForMs);
    }
    if (soonest === Infinity) return;
    this.#idleTimer = setTimeout(() => void this.reconcile(), Math.max(50, soonest + 10));
    this.#idleTimer.unref();
  }

  #noteCurrent(next: CurrentProfile): void {
    const previous = this.#desired.current.handle;
    if (next.handle === previous) return;
    this.#o.log.info({ from: previous, to: next.handle, source: next.source }, '/api now goes to this profile');
    queueMicrotask(() => this.#changed());
  }

  /** Starts what the action asks for; the pass does not wait for it (one profile's slow drain must not hold
   *  up the others). */
  #apply(action: Action): void {
    if (action.kind === 'create') {
      const adoptable = this.#adoptable.get(action.spec.name);
      if (adoptable) return this.#takeBack(action.spec, adoptable);
      const worker = this.#newWorker(action.spec);
      this.#workers.set(action.spec.name, worker);
      this.#changed();
      if (!action.spec.enabled) return;
      if (action.spec.lazy) void worker.sleep('idle stop is on: started by its first request');
      else void worker.start(action.spec);
      return;
    }
    const name = 'spec' in action ? action.spec.name : action.name;
    const worker = this.#workers.get(name)!;
    switch (action.kind) {
      case 'remove': {
        this.#workers.delete(name);
        this.#changed();
        if (worker.spec.role === 'profile') this.#requests.forget(name);
        const stop = worker.stop(action.reason);
        this.#stopping.add(stop);
        void stop.finally(() => this.#stopping.delete(stop));
        return;
      }
      case 'start':
        void worker.start(action.spec);
        return;
      case 'stop':
        void worker.stop(action.reason);
        return;
      case 'recycle':
        void worker.recycle(action.spec, action.reason);
        return;
      case 'retry':
        void worker.retry();
        return;
      case 'sleep':
        void worker.sleep(`unused for ${this.#o.settings.IDLE_TIMEOUT_MS} ms`);
        return;
      case 'accept':
        worker.accept(action.spec);
        return;
    }
  }

  /** A worker of the earlier supervisor, with the spec it was started for, so that the next pass acts on
   *  whatever changed since (a credentials file: a recycle, once its work ends). */
  #takeBack(spec: WorkerSpec, adoptable: Adoptable): void {
    this.#adoptable.delete(adoptable.name);
    const was: WorkerSpec = { ...spec, port: adoptable.port, config: adoptable.config, files: adoptable.files };
    const worker = this.#newWorker(was);
    this.#workers.set(was.name, worker);
    this.#changed();
    this.#o.log.info({ handle: handleOf(was), port: was.port }, 'worker of the earlier supervisor taken back');
    void worker.adopt(was, adoptable.restarts, (hooks) => adoptable.take(hooks));
    this.#again = true;
  }

  #newWorker(spec: WorkerSpec): WorkerLifecycle {
    const { settings } = this.#o;
    const worker: WorkerLifecycle = new WorkerLifecycle(spec, {
      spawn: this.#o.spawn,
      settings,
      log: this.#o.log,
      ...(this.#o.version ? { version: this.#o.version } : {}),
      startGate: this.#startGate,
      ...(this.#o.backoff ? { backoff: this.#o.backoff } : {}),
      onEvent: (event) => this.#onWorkerEvent(spec, event),
      // A profile's port taken by another program: the next free one, saved in ports.json, which the next
      // pass reads back (the setup worker's port 0 never conflicts).
      ...(spec.role === 'profile' ? { movePort: async (name: string, taken: number) => {
            const port = await this.#o.ports.move(name, taken);
            return port === null ? null : { port, saved: this.#o.ports.savesToFile };
          } } : {}),
    });
    return worker;
  }

  /** What a worker's lifecycle says: a pass when one may be due, the dashboard on every change, a switch its
   *  process asked for (only for a person who may), the metrics. */
  #onWorkerEvent(from: WorkerSpec, event: LifecycleEvent): void {
    switch (event.kind) {
      case 'changed':
        return this.#changed();
      case 'state':
        return this.#o.log.debug({ handle: handleOf(from), from: event.from, to: event.to }, 'worker state');
      case 'retry-due':
      case 'demand':
        return void this.reconcile();
      case 'switch': {
        const handle = parseHandle(event.handle);
        if (!handle || !this.#o.maySwitch(event.by, handle)) {
          this.#o.log.warn({ worker: handleOf(from), by: event.by, handle: event.handle }, 'a worker asked for a switch that the person it names may not make; ignored');
          return;
        }
        this.#o.log.info({ worker: handleOf(from), by: event.by, handle }, 'switch requested by a worker');
        return void this.switchTo(handle);
      }
      default:
        return this.#o.onWorkerEvent?.(from.name, event);
    }
  }

}
