import readline from 'node:readline';
import type { ChildProcess } from 'node:child_process';
import { execa } from 'execa';
import { PROJECT_ROOT, RUNS_COMPILED, entryPoint } from '../../shared/profiles/paths.ts';
import { START_OVER_IPC_VAR, isWorkerMessage, type SupervisorMessage, type WorkerMessage } from '../../shared/runtime/ipc.ts';
import { INHERITED_SETTINGS_VAR, SETTING_KEYS } from '../../shared/runtime/settings.ts';
import { descendants, killAll } from './process-tree.ts';
import { workerSocketPath } from './worker-socket.ts';
import type { WorkerSpec } from './worker-spec.ts';

/** The worker's entry: compiled when the supervisor runs compiled, and then with source maps, so that
 *  stack traces name the .ts files. */
export const WORKER_ENTRY = entryPoint('worker');
export const WORKER_NODE_ARGS = RUNS_COMPILED ? ['--enable-source-maps'] : [];

export interface Exit {
  code: number | null;
  signal: string | null;
}

/** What a worker process says, read from its control channel (IPC today) here and nowhere else: the
 *  lifecycle hears these, never the messages themselves. */
export type ProcessEvent =
  /** Listening: on its TCP port, and on a Unix socket when it has one. */
  | { kind: 'ready'; port: number; socket: string | null }
  /** It cannot run: why, for the dashboard (a taken port names the port). */
  | { kind: 'fatal'; code: string; message: string; port?: number }
  /** What it is in the middle of, each with the most it may take. */
  | { kind: 'work'; running: { name: string; limit_ms: number }[] }
  /** The restore of the profile's work after its start. */
  | { kind: 'restore'; state: 'restoring' | 'done'; failed: string[] }
  /** Someone asked it to make a profile the current one. */
  | { kind: 'switch'; handle: string; by: string };

export interface ProcessHooks {
  onEvent(event: ProcessEvent): void;
  /** One line of the worker's stdout or stderr. */
  onLine(line: string, stream: 'stdout' | 'stderr'): void;
}

/** A message of the worker's control channel as the event it is; `browser` is the process module's own. */
export function processEventOf(message: WorkerMessage): ProcessEvent | null {
  switch (message.type) {
    case 'ready':
      return { kind: 'ready', port: message.port, socket: message.socket ?? null };
    case 'fatal':
      return { kind: 'fatal', code: message.code, message: message.message, ...(message.port ? { port: message.port } : {}) };
    case 'work':
      return { kind: 'work', running: message.running };
    case 'restore':
      return { kind: 'restore', state: message.state, failed: message.failed };
    case 'switch':
      return { kind: 'switch', handle: message.handle, by: message.by };
    case 'browser':
      return null;
  }
}

/** One running worker process, as the lifecycle sees it. */
export interface RunningProcess {
  readonly pid: number;
  /** `performance.now()` at spawn. */
  readonly startedAt: number;
  readonly running: boolean;
  /** Resolves when the process has exited (never rejects). */
  readonly exited: Promise<Exit>;
  /** Its Chrome is open. */
  readonly browserOpen: boolean;
  /** Graceful stop; after `graceMs`, SIGKILL of it and everything it started. Resolves once it is gone. */
  stop(graceMs: number): Promise<Exit>;
  /** SIGKILL of it and everything it started, now. */
  kill(): void;
}

/** Starts the process for a spec (JupyterHub's Spawner.start). Tests of the lifecycle pass a fake. */
export type Spawner = (spec: WorkerSpec, hooks: ProcessHooks) => RunningProcess;

/** The real spawner: the worker's entry in a child process with an IPC channel. `env` is what every worker
 *  gets besides the supervisor's own environment (the config dir); each spec adds its profile, port and
 *  socket. `start` goes over IPC, never into an environment: the settings (tokens, a Redis password among
 *  them) and the supervisor's secret. The variables of the settings themselves stay with the supervisor. */
export function processSpawner(options: { env: Record<string, string>; configDir: string; start: Omit<Extract<SupervisorMessage, { type: 'start' }>, 'type'> }): Spawner {
  const inherited = withoutSettings(process.env);
  return (spec, hooks) => {
    const socket = workerSocketPath(options.configDir, spec.name);
    return WorkerProcess.spawn(
      {
        ...inherited,
        ...options.env,
        [START_OVER_IPC_VAR]: '1',
        PORT: String(spec.port),
        ...(spec.role === 'profile' ? { BLAZE_PROFILE: spec.name } : { TAT_SETUP_WORKER: '1' }),
        ...(socket ? { TAT_WORKER_SOCKET: socket } : {}),
      },
      hooks,
      { type: 'start', ...options.start },
    );
  };
}

/** The supervisor's environment without its settings' variables (SUPERVISOR_TOKEN, METRICS_TOKEN, REDIS_URL,
 *  …): a worker takes its settings from the `start` message. */
function withoutSettings(env: NodeJS.ProcessEnv): Record<string, string> {
  const dropped = new Set<string>([...SETTING_KEYS, INHERITED_SETTINGS_VAR, 'BLAZE_PROFILE']);
  return Object.fromEntries(Object.entries(env).filter((entry): entry is [string, string] => entry[1] !== undefined && !dropped.has(entry[0])));
}

/** One worker process: start it, talk to it, stop it. Knows nothing of states or policies. It also owns
 *  the worker's Chrome, which puppeteer runs in a process group of its own: killed with the worker whenever
 *  the worker could not close it (a crash, a SIGKILL). */
export class WorkerProcess implements RunningProcess {
  readonly pid: number;
  readonly startedAt = performance.now();
  readonly exited: Promise<Exit>;
  #child: ChildProcess;
  #exit: Exit | null = null;
  #browserPid: number | null = null;

  private constructor(subprocess: ChildProcess, hooks: ProcessHooks) {
    this.#child = subprocess;
    this.pid = subprocess.pid ?? -1;
    this.exited = new Promise<Exit>((resolve) => {
      subprocess.once('exit', (code: number | null, signal: string | null) => {
        this.#exit = { code, signal };
        this.#killBrowser();
        resolve(this.#exit);
      });
    });
    subprocess.on('message', (message: unknown) => {
      if (!isWorkerMessage(message)) return;
      if (message.type === 'browser') this.#browserPid = message.pid;
      const event = processEventOf(message);
      if (event) hooks.onEvent(event);
    });
    subprocess.on('error', () => {}); // spawn errors surface as an exit
    for (const stream of ['stdout', 'stderr'] as const) {
      const source = subprocess[stream];
      if (source) readline.createInterface({ input: source, crlfDelay: Infinity }).on('line', (line) => hooks.onLine(line, stream));
    }
  }

  static spawn(env: Record<string, string>, hooks: ProcessHooks, start?: SupervisorMessage): WorkerProcess {
    const subprocess = execa(process.execPath, [...WORKER_NODE_ARGS, WORKER_ENTRY], {
      cwd: PROJECT_ROOT,
      env,
      extendEnv: false,
      ipc: true,
      serialization: 'json',
      stdin: 'ignore',
      buffer: false,
      reject: false,
      // Own process group: a Ctrl-C in the supervisor's terminal reaches the supervisor only, which then
      // stops its workers in order.
      detached: true,
      cleanup: false,
      forceKillAfterDelay: false,
    });
    void subprocess.catch(() => {}); // the exit is handled from the `exit` event
    const worker = new WorkerProcess(subprocess.nodeChildProcess ?? (subprocess as unknown as ChildProcess), hooks);
    if (start) worker.send(start);
    return worker;
  }

  get running(): boolean {
    return this.#exit === null;
  }

  get browserOpen(): boolean {
    return this.#browserPid !== null;
  }

  send(message: SupervisorMessage): void {
    if (this.#child.connected) this.#child.send(message, () => {});
  }

  async stop(graceMs: number): Promise<Exit> {
    if (this.#exit) return this.#exit;
    this.send({ type: 'shutdown' });
    try {
      process.kill(this.pid, 'SIGTERM');
    } catch {
      // already exiting
    }
    let timer: NodeJS.Timeout | undefined;
    const inTime = await Promise.race([
      this.exited.then(() => true),
      new Promise<false>((resolve) => {
        timer = setTimeout(() => resolve(false), graceMs);
      }),
    ]);
    clearTimeout(timer);
    if (!inTime) this.kill();
    return this.exited;
  }

  kill(): void {
    const tree = this.running ? descendants(this.pid) : [];
    killAll([this.pid, ...tree, ...(this.#browserPid === null ? [] : [this.#browserPid])]);
  }

  /** A worker that exited cleanly closed its Chrome; one that crashed or was killed could not. */
  #killBrowser(): void {
    if (this.#browserPid !== null) killAll([this.#browserPid]);
    this.#browserPid = null;
  }
}
