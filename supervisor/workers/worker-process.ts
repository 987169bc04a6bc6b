import { randomBytes } from 'node:crypto';
import { spawn, type ChildProcess } from 'node:child_process';
import { pathToFileURL } from 'node:url';
import { PROJECT_ROOT, RUNS_COMPILED, entryPoint, projectModule } from '../../shared/profiles/paths.ts';
import { SPARE_VAR, START_OVER_IPC_VAR, isWorkerMessage, type SupervisorMessage, type WorkerAssignment } from '../../shared/runtime/ipc.ts';
import { INHERITED_SETTINGS_VAR, SETTING_KEYS } from '../../shared/runtime/settings.ts';
import { LinkedProcess, processEventOf, type Exit, type ProcessHooks, type RunningProcess } from './linked-process.ts';
import { workerSocketPath } from './runtime-dir.ts';
import { SpareWorkers } from './spare-workers.ts';
import type { Logger } from '../../shared/runtime/logger.ts';
import type { Linked, WorkerLinks } from './worker-links.ts';
import { processStartTime } from './worker-records.ts';
import { isProcessId } from './process-tree.ts';
import type { WorkerSpec } from './worker-spec.ts';

export { processEventOf, type Exit, type ProcessEvent, type ProcessHooks, type RunningProcess } from './linked-process.ts';

/** Node's arguments for a worker: compiled when the supervisor runs compiled (or `compiled` is asked for: the
 *  bench starts workers this way too), the worker's linked entry, zod's English locale linked in; from the
 *  sources, zod's English-only preload (`--import`, before the worker's own modules: see the file) first.
 *  Logged stack traces name the .ts files (`shared/runtime/source-mapped-stack.ts`), without
 *  `--enable-source-maps` and its cost at start. */
export function workerArgs(compiled = RUNS_COMPILED): string[] {
  if (compiled) return [entryPoint('worker', true)];
  return ['--import', pathToFileURL(projectModule('shared/runtime/zod-english-only', false)).href, entryPoint('worker', false)];
}

/** A process just spawned, for whoever keeps records of them: what the next supervisor needs to find it. */
export interface Spawned {
  pid: number;
  procStart: string;
  controlSecret: string;
}

/** Starts the process for a spec (JupyterHub's Spawner.start). Tests of the lifecycle pass a fake. */
export type Spawner = (spec: WorkerSpec, hooks: ProcessHooks) => RunningProcess;

export interface ProcessSpawnerOptions {
  env: Record<string, string>;
  /** The supervisor's runtime folder (`runtime-dir.ts`): where the workers' sockets go. */
  runtime: string;
  /** What goes over IPC, never into an environment: the settings (tokens, a Redis password among them)
   *  and the supervisor's secret. */
  start: { settings: string; secret: string };
  links: WorkerLinks;
  /** The control socket the worker dials. */
  controlSocket: string;
  /** Whoever keeps records of the processes (so that the next supervisor finds them). */
  track?: { spawned(spec: WorkerSpec, spawned: Spawned): void; exited(spec: WorkerSpec, pid: number): void };
  /** Spare workers (`spare-workers.ts`): kept at all times with `always` (idle stop on), else only around
   *  starts; none without this. */
  spares?: { always: boolean; log: Logger };
}

/** The spawner, and the spare it keeps (closed with the supervisor). */
export interface ProcessSpawner {
  spawn: Spawner;
  spares: SpareWorkers | null;
}

/** The real spawner: the worker's entry in a process of its own, which outlives this supervisor (its own
 *  process group and session, the operator's output inherited, not piped). The `start` message goes over
 *  IPC, once; from then on the worker talks over the control channel it dials. */
export function processSpawner(options: ProcessSpawnerOptions): ProcessSpawner {
  // Every worker's environment is the same: what one worker is for goes in its `start` message.
  const env = { ...withoutSettings(process.env), ...options.env, [START_OVER_IPC_VAR]: '1' };
  const spares = options.spares ? new SpareWorkers({ launch: () => launchWorker({ ...env, [SPARE_VAR]: '1' }), ...options.spares }) : null;
  const spawn: Spawner = (spec, hooks) => {
    const socket = workerSocketPath(options.runtime, spec.name);
    const controlSecret = randomBytes(32).toString('base64url');
    const worker: WorkerAssignment = {
      env: {
        PORT: String(spec.port),
        ...(spec.role === 'profile' ? { BLAZE_PROFILE: spec.name } : { TAT_SETUP_WORKER: '1' as const }),
        ...(socket ? { TAT_WORKER_SOCKET: socket } : {}),
      },
    };
    const start: SupervisorMessage = { type: 'start', ...options.start, control: { socket: options.controlSocket, secret: controlSecret, name: spec.name }, worker };
    const proc = SpawnedProcess.around(spares?.take() ?? launchWorker(env), hooks, start);
    if (proc.pid > 0) {
      const forget = options.links.expect(proc.pid, controlSecret, (link) => proc.attach(link, options.start.secret));
      const procStart = processStartTime(proc.pid);
      if (procStart) options.track?.spawned(spec, { pid: proc.pid, procStart, controlSecret });
      void proc.exited.then(() => {
        forget();
        options.track?.exited(spec, proc.pid);
        spares?.soon(); // a crash waits out its backoff meanwhile; an idle stop may be woken again
      });
    }
    return proc;
  };
  return { spawn, spares };
}

/** The supervisor's environment without its settings' variables (SUPERVISOR_TOKEN, METRICS_TOKEN, REDIS_URL,
 *  …), and without what systemd hands the supervisor alone (its listening socket). */
function withoutSettings(env: NodeJS.ProcessEnv): Record<string, string> {
  const dropped = new Set<string>([...SETTING_KEYS, INHERITED_SETTINGS_VAR, 'BLAZE_PROFILE', 'LISTEN_FDS', 'LISTEN_PID', 'LISTEN_FDNAMES']);
  return Object.fromEntries(Object.entries(env).filter((entry): entry is [string, string] => entry[1] !== undefined && !dropped.has(entry[0])));
}

/** A worker process this supervisor started: its exit is known exactly. Until the worker's control channel
 *  is up, what it says (a `fatal` at its very start, its log lines) comes over IPC. */
export class SpawnedProcess extends LinkedProcess {
  readonly startedAt = performance.now();
  readonly exited: Promise<Exit>;
  #child: ChildProcess;
  #exit: Exit | null = null;

  private constructor(child: ChildProcess, hooks: ProcessHooks) {
    super(child.pid ?? -1, hooks);
    this.#child = child;
    this.exited = new Promise<Exit>((resolve) => {
      const ended = (exit: Exit) => {
        if (this.#exit) return;
        this.#exit = exit;
        this.killBrowser();
        resolve(exit);
      };
      child.once('exit', (code: number | null, signal: string | null) => ended({ code, signal }));
      // A spawn that failed (too many processes or open files) has no pid and never exits: it ends here, so
      // that the lifecycle counts it as a start that failed, and nothing ever signals pid -1 (every process).
      child.on('error', (error: NodeJS.ErrnoException) => {
        if (child.pid !== undefined) return; // a failed IPC send: the exit, if any, follows
        hooks.onEvent({ kind: 'fatal', code: 'spawn_failed', message: `the worker's process could not be started (${error.code ?? error.message})` });
        ended({ code: null, signal: null });
      });
    });
    child.on('message', (message: unknown) => {
      if (isWorkerMessage(message)) hooks.onEvent(processEventOf(message));
      else if ((message as { type?: unknown })?.type === 'log' && typeof (message as { line?: unknown }).line === 'string') hooks.onLine((message as { line: string }).line);
    });
  }

  /** Becomes the process `child` runs (just spawned, or a spare), and tells it what it is for. */
  static around(child: ChildProcess, hooks: ProcessHooks, start: SupervisorMessage): SpawnedProcess {
    const proc = new SpawnedProcess(child, hooks);
    if (child.connected) child.send(start, () => {});
    return proc;
  }

  get running(): boolean {
    return this.#exit === null;
  }

  stop(graceMs: number): Promise<Exit> {
    if (this.#exit) return Promise.resolve(this.#exit);
    return this.stopWithin(graceMs, () => {
      if (this.#child.connected) this.#child.send({ type: 'shutdown' }, () => {});
      try {
        if (isProcessId(this.pid)) process.kill(this.pid, 'SIGTERM');
      } catch {
        // already exiting
      }
    });
  }

  /** The worker no longer needs IPC once its control channel is up; an unreferenced channel lets this
   *  supervisor exit without waiting for it. */
  override attach(link: Linked, secret: string): void {
    super.attach(link, secret, false);
    this.#child.unref();
    (this.#child as unknown as { channel?: { unref?(): void } }).channel?.unref?.();
  }
}

/** A worker's process: the worker's entry in a process of its own. Node's own spawn: nothing of the
 *  child is read here but its IPC messages and its exit, so a wrapper's streams, promise and message
 *  buffers would be paid for at every start for nothing. */
function launchWorker(env: Record<string, string>): ChildProcess {
  const child = spawn(process.execPath, workerArgs(), {
    cwd: PROJECT_ROOT,
    env,
    // No stdin; the operator's log (a terminal, journald, pm2's pipe) as stdout and stderr: the worker writes
    // its lines there itself; then the IPC channel.
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    serialization: 'json',
    // Own process group and session: a Ctrl-C in the supervisor's terminal reaches the supervisor only, and
    // a service manager that stops the supervisor alone leaves the workers to the next one.
    detached: true,
  });
  child.on('error', () => {}); // a failed spawn ends the SpawnedProcess around it (or is dropped as a spare)
  return child;
}
