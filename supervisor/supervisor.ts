import os from 'node:os';
import path from 'node:path';
import type { DestinationStream } from 'pino';
import type { Handle } from '../shared/handle.ts';
import type { WorkerMessage } from '../shared/ipc.ts';
import type { Logger } from '../shared/logger.ts';
import type { ProfileStore } from '../shared/profile-store.ts';
import { INHERITED_SETTINGS_VAR, settingsForWorkers, type Settings } from '../shared/settings.ts';
import { ConfigWatcher, type ConfigChange } from './config-watcher.ts';
import { readDesiredState, type DesiredState } from './desired-state.ts';
import { ManagedWorker, type WorkerEvent, type WorkerStatus } from './managed-worker.ts';
import type { PortRegistry } from './port-registry.ts';
import { removeWorkerSocketDir, workerSocketPath } from './worker-socket.ts';
import { StartGate } from './start-gate.ts';

export interface SupervisorOptions {
  settings: Settings;
  store: ProfileStore;
  ports: PortRegistry;
  log: Logger;
  logDestination: DestinationStream;
  /** `BLAZE_PROFILE` given to the supervisor itself pins the current profile (the guide's first priority). */
  pinned: Handle | null;
  onWorkerEvent?(worker: ManagedWorker, event: WorkerEvent): void;
}

const RESYNC_INTERVAL_MS = 10_000;

/** The Hub: decides which workers should exist (from the files), compares with those that do, and acts on
 *  the difference — in one place, one pass at a time. Events only ask for a pass. */
export class Supervisor {
  readonly #o: SupervisorOptions;
  readonly #workers = new Map<Handle, ManagedWorker>();
  #setup: ManagedWorker | null = null;
  #desired: DesiredState = { handles: [], current: null };
  /** Stopped on request (`POST …/stop`) although their files say they should run. */
  readonly #disabled = new Set<Handle>();
  readonly #stopping = new Set<Promise<void>>();
  readonly #startGate = new StartGate(os.availableParallelism());
  #watcher: ConfigWatcher | null = null;
  #resync: NodeJS.Timeout | undefined;
  #pass: Promise<void> | null = null;
  #again = false;
  #shuttingDown = false;

  constructor(options: SupervisorOptions) {
    this.#o = options;
  }

  async start(): Promise<void> {
    this.#watcher = new ConfigWatcher(this.#o.store.paths, (change) => this.#onConfigChange(change));
    await this.#watcher.ready();
    this.#resync = setInterval(() => void this.reconcile(), RESYNC_INTERVAL_MS);
    this.#resync.unref();
    await this.reconcile();
  }

  get current(): Handle | null {
    return this.#desired.current;
  }

  get firstRun(): boolean {
    return this.#desired.handles.length === 0;
  }

  worker(handle: Handle): ManagedWorker | undefined {
    return this.#workers.get(handle);
  }

  /** Where the guide's unprefixed `/api/…` goes: the current profile's worker, or the setup worker. */
  apiWorker(): ManagedWorker | undefined {
    const current = this.#desired.current;
    return current ? this.#workers.get(current) : (this.#setup ?? undefined);
  }

  list(): (WorkerStatus & { is_current: boolean })[] {
    const all = [...this.#workers.values()].map((w) => ({ ...w.status(), is_current: w.handle === this.#desired.current }));
    if (this.#setup) all.push({ ...this.#setup.status(), is_current: this.#desired.current === null });
    return all;
  }

  /** Asks for a reconciliation pass; concurrent asks share one extra pass. Resolves when the state asked
   *  for has been acted on. */
  reconcile(): Promise<void> {
    if (this.#pass) {
      this.#again = true;
      return this.#pass;
    }
    this.#pass = (async () => {
      try {
        do {
          this.#again = false;
          await this.#reconcileOnce();
        } while (this.#again);
      } catch (error) {
        this.#o.log.error({ err: error }, 'reconciliation failed; retrying at the next change or resync');
      } finally {
        this.#pass = null;
      }
    })();
    return this.#pass;
  }

  async #reconcileOnce(): Promise<void> {
    if (this.#shuttingDown) return;
    const desired = await readDesiredState(this.#o.store, this.#o.settings.PROFILES, this.#o.pinned);
    if (desired.current !== this.#desired.current) {
      this.#o.log.info({ from: this.#desired.current, to: desired.current }, '/api now goes to this profile');
    }
    this.#desired = desired;

    const wanted = desired.handles.filter((h) => !this.#disabled.has(h));
    const ports = await this.#o.ports.portsFor(wanted.filter((h) => !this.#workers.has(h)));
    if (this.#shuttingDown) return;
    for (const handle of wanted) {
      const existing = this.#workers.get(handle);
      if (!existing) {
        const worker = this.#newWorker(handle, ports.get(handle)!);
        this.#workers.set(handle, worker);
        void worker.start();
      } else if (existing.state === 'stopped') {
        void existing.start();
      }
    }
    for (const [handle, worker] of this.#workers) {
      if (desired.handles.includes(handle)) continue;
      this.#workers.delete(handle);
      this.#disabled.delete(handle);
      this.#track(worker.stop('profile removed (token or credentials file gone)'));
    }

    const needSetup = desired.handles.length === 0;
    if (needSetup && !this.#setup) {
      this.#setup = this.#newWorker(null, 0);
      void this.#setup.start();
    } else if (!needSetup && this.#setup) {
      const setup = this.#setup;
      this.#setup = null;
      this.#track(setup.stop('a profile exists: first-run mode is over'));
    }
  }

  #newWorker(handle: Handle | null, port: number): ManagedWorker {
    const { settings } = this.#o;
    return new ManagedWorker({
      handle,
      port,
      settings,
      log: this.#o.log,
      logDestination: this.#o.logDestination,
      env: {
        // Compiled code of the worker's modules is cached on disk: every later start skips that work.
        NODE_COMPILE_CACHE: process.env.NODE_COMPILE_CACHE ?? path.join(os.tmpdir(), 'tat-mis-node-compile-cache'),
        TAT_CONFIG_DIR: settings.configDir,
        [INHERITED_SETTINGS_VAR]: settingsForWorkers(settings),
        ...(handle ? { TAT_ROUTE_PREFIX: `/p/${handle}` } : {}),
        ...optional('TAT_WORKER_SOCKET', workerSocketPath(settings.configDir, handle)),
      },
      startGate: this.#startGate,
      onMessage: (worker, message) => this.#onWorkerMessage(worker, message),
      onStateChange: (worker, previous) => this.#o.log.debug({ handle: worker.handle, from: previous, to: worker.state }, 'worker state'),
      onEvent: (worker, event) => this.#o.onWorkerEvent?.(worker, event),
    });
  }

  #onWorkerMessage(worker: ManagedWorker, message: WorkerMessage): void {
    if (message.type === 'switch') {
      this.#o.log.info({ by: worker.handle, handle: message.handle }, 'switch requested by a worker');
      void this.switchTo(message.handle);
    }
  }

  #onConfigChange(change: ConfigChange): void {
    for (const handle of change.handles) {
      const worker = this.#workers.get(handle);
      if (!worker) continue;
      if (change.credentialsChanged.has(handle) && worker.state !== 'stopped') void worker.recycle('its credentials file changed');
      else if (worker.state === 'errored') void worker.recycle('its files changed');
    }
    void this.reconcile();
  }

  /** Carries out "switch requires restart": re-reads the files (last_profile.json was just written), points
   *  `/api` at the profile and recycles its worker, starting it if it was not running. */
  async switchTo(handle: Handle): Promise<void> {
    this.#disabled.delete(handle);
    await this.reconcile();
    const worker = this.#workers.get(handle);
    if (worker) await worker.recycle('switched to this profile');
  }

  /** `POST /supervisor/api/current`: the same switch, for the dashboard. */
  async makeCurrent(handle: Handle): Promise<void> {
    await this.#o.store.writeLastProfile(handle);
    await this.switchTo(handle);
  }

  async restart(handle: Handle): Promise<void> {
    this.#disabled.delete(handle);
    await this.#workers.get(handle)?.recycle('restart requested');
  }

  async stopWorker(handle: Handle): Promise<void> {
    this.#disabled.add(handle);
    await this.#workers.get(handle)?.stop('stop requested');
  }

  async startWorker(handle: Handle): Promise<void> {
    this.#disabled.delete(handle);
    await this.#workers.get(handle)?.start();
  }

  /** Removes the profile's token file (as the guide's delete does) and stops its worker. */
  async deleteProfile(handle: Handle): Promise<boolean> {
    const removed = await this.#o.store.deleteToken(handle);
    await this.reconcile();
    return removed;
  }

  /** Stops every worker gracefully, in parallel. */
  async shutdown(): Promise<void> {
    this.#shuttingDown = true;
    clearInterval(this.#resync);
    await this.#watcher?.close();
    const all = [...this.#workers.values(), ...(this.#setup ? [this.#setup] : [])];
    await Promise.all([...all.map((w) => w.stop('supervisor stopping')), ...this.#stopping]);
    removeWorkerSocketDir(this.#o.settings.configDir);
  }

  #track(stop: Promise<void>): void {
    this.#stopping.add(stop);
    void stop.finally(() => this.#stopping.delete(stop));
  }
}

function optional(key: string, value: string | null): Record<string, string> {
  return value ? { [key]: value } : {};
}
