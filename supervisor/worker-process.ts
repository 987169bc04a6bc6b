import path from 'node:path';
import readline from 'node:readline';
import type { ChildProcess } from 'node:child_process';
import { execa } from 'execa';
import { PROJECT_ROOT } from '../shared/paths.ts';
import { isWorkerMessage, type SupervisorMessage, type WorkerMessage } from '../shared/ipc.ts';
import { descendants, killAll } from './process-tree.ts';

export const WORKER_ENTRY = path.join(PROJECT_ROOT, 'worker', 'main.ts');

export interface Exit {
  code: number | null;
  signal: string | null;
}

export interface SpawnOptions {
  env: Record<string, string>;
  onMessage(message: WorkerMessage): void;
  /** One line of the worker's stdout or stderr. */
  onLine(line: string, stream: 'stdout' | 'stderr'): void;
}

/** One running worker process: start it, talk to it, stop it (JupyterHub's Spawner, for one process).
 *  Knows nothing of states or policies; `ManagedWorker` decides. */
export class WorkerProcess {
  readonly pid: number;
  readonly startedAt = performance.now();
  /** Resolves when the process has exited (never rejects). */
  readonly exited: Promise<Exit>;
  #child: ChildProcess;
  #exit: Exit | null = null;

  private constructor(subprocess: ChildProcess, options: SpawnOptions) {
    this.#child = subprocess;
    this.pid = subprocess.pid ?? -1;
    this.exited = new Promise<Exit>((resolve) => {
      subprocess.once('exit', (code: number | null, signal: string | null) => {
        this.#exit = { code, signal };
        resolve(this.#exit);
      });
    });
    subprocess.on('message', (message: unknown) => {
      if (isWorkerMessage(message)) options.onMessage(message);
    });
    subprocess.on('error', () => {}); // spawn errors surface as an exit
    for (const stream of ['stdout', 'stderr'] as const) {
      const source = subprocess[stream];
      if (source) readline.createInterface({ input: source, crlfDelay: Infinity }).on('line', (line) => options.onLine(line, stream));
    }
  }

  static spawn(options: SpawnOptions): WorkerProcess {
    const subprocess = execa(process.execPath, [WORKER_ENTRY], {
      cwd: PROJECT_ROOT,
      env: options.env,
      extendEnv: true,
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
    return new WorkerProcess(subprocess.nodeChildProcess ?? (subprocess as unknown as ChildProcess), options);
  }

  get running(): boolean {
    return this.#exit === null;
  }

  send(message: SupervisorMessage): void {
    if (this.#child.connected) this.#child.send(message, () => {});
  }

  /** Graceful stop: IPC `shutdown` and SIGTERM; after `graceMs`, SIGKILL of the worker and everything it
   *  started (Chrome included). Resolves once the process is gone. */
  async stop(graceMs: number, extraPids: Iterable<number> = []): Promise<Exit> {
    if (this.#exit) {
      killAll(extraPids);
      return this.#exit;
    }
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
    if (!inTime) this.kill(extraPids);
    else killAll(extraPids); // a graceful worker closed Chrome itself; this only catches leftovers
    return this.exited;
  }

  /** SIGKILL of the worker, its descendants and `extraPids`, now. */
  kill(extraPids: Iterable<number> = []): void {
    const tree = this.running ? descendants(this.pid) : [];
    killAll([this.pid, ...tree, ...extraPids]);
  }
}
