import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import { once } from 'node:events';
import { PROJECT_ROOT, entryPoint } from '../../shared/profiles/paths.ts';
import { buildState } from '../../scripts/build-state.mjs';
import { WorkerRecords, isSameProcess } from '../../supervisor/workers/worker-records.ts';
import { runtimeDirsOf, workerRecordsDir } from '../../supervisor/workers/runtime-dir.ts';
import { workerArgs } from '../../supervisor/workers/worker-process.ts';

export interface LogLine {
  level?: number;
  msg?: string;
  [key: string]: unknown;
}

export interface Started {
  child: ChildProcess;
  pid: number;
  /** Its stdout, a parsed JSON object a line (a line that is not JSON as `{ msg: line }`). */
  lines: LogLine[];
  /** Raw stdout + stderr text, for secret scans and failure messages. */
  output(): string;
  waitForLine(predicate: (line: LogLine) => boolean, timeoutMs?: number): Promise<LogLine>;
  exited(): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** `signal` (default SIGTERM), then SIGKILL of the whole process group when it is still running after
   *  `timeoutMs`; resolves once it has exited. */
  stop(signal?: NodeJS.Signals, timeoutMs?: number): Promise<void>;
  /** SIGKILL of the process and its whole process group (safety net; tests that check clean stops use signals). */
  kill(): Promise<void>;
}

export interface StartOptions {
  /** The whole environment (default: this process's). */
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** Runs it as this user and group (the test runs as root). */
  uid?: number;
  gid?: number;
  /** An IPC channel (`child.send`, `message` events), as the supervisor gives its workers. */
  ipc?: boolean;
  /** Its stdin: none (default) or a pipe that stays open (`child.stdin`). */
  stdin?: 'ignore' | 'pipe';
}

const live = new Set<Started>();
process.on('exit', () => {
  for (const s of live) killGroup(s.pid);
});

/** SIGKILL of the process group `pid` leads, or of the process alone when it leads none. */
export function killGroup(pid: number): void {
  try {
    process.kill(-pid, 'SIGKILL');
  } catch {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
}

/** Runs `command` in a process group of its own, collecting its output; killed (group and all) when the test
 *  process exits, whatever happened. */
export function startProcess(command: string, args: string[], options: StartOptions = {}): Started {
  const child = spawn(command, args, {
    ...(options.cwd ? { cwd: options.cwd } : {}),
    ...(options.env ? { env: options.env } : {}),
    ...(options.uid !== undefined ? { uid: options.uid } : {}),
    ...(options.gid !== undefined ? { gid: options.gid } : {}),
    stdio: [options.stdin ?? 'ignore', 'pipe', 'pipe', ...(options.ipc ? (['ipc'] as const) : [])],
    detached: true,
  });
  const lines: LogLine[] = [];
  const waiters = new Set<() => void>();
  let text = '';
  let partial = '';
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
    text += chunk;
    partial += chunk;
    const parts = partial.split('\n');
    partial = parts.pop() ?? '';
    for (const part of parts) {
      if (!part.trim()) continue;
      try {
        lines.push(JSON.parse(part));
      } catch {
        lines.push({ msg: part });
      }
    }
    for (const w of waiters) w();
  });
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
    text += chunk;
  });
  const exit = once(child, 'exit').then(([code, signal]) => ({ code: code as number | null, signal: signal as NodeJS.Signals | null }));
  const running = () => child.exitCode === null && child.signalCode === null;
  const started: Started = {
    child,
    pid: child.pid!,
    lines,
    output: () => text,
    waitForLine(predicate, timeoutMs = 10_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const hit = lines.find(predicate);
          if (hit) {
            done();
            resolve(hit);
          }
        };
        const timer = setTimeout(() => {
          done();
          reject(new Error(`timed out after ${timeoutMs} ms waiting for a log line; output so far:\n${text.slice(-4000)}`));
        }, timeoutMs);
        const onExit = () => {
          done();
          reject(new Error(`process exited while waiting for a log line; output:\n${text.slice(-4000)}`));
        };
        const done = () => {
          clearTimeout(timer);
          waiters.delete(check);
          child.off('exit', onExit);
        };
        waiters.add(check);
        child.once('exit', onExit);
        check();
      });
    },
    exited: () => exit,
    async stop(signal = 'SIGTERM', timeoutMs = 5000) {
      if (!running()) return;
      try {
        process.kill(child.pid!, signal);
      } catch {
        // gone
      }
      const timer = setTimeout(() => killGroup(child.pid!), timeoutMs);
      await exit;
      clearTimeout(timer);
    },
    async kill() {
      live.delete(started);
      killGroup(child.pid!);
      if (running()) await exit;
    },
  };
  live.add(started);
  exit.then(
    () => live.delete(started),
    () => live.delete(started), // it never ran (a spawn error): `exited()` rejects with it
  );
  return started;
}

/** What a process's command line looks like when it runs the supervisor or a worker (the compiled entry,
 *  the source, or the `npm start` launcher, whose arguments pm2's process title leaves out). */
export const SUPERVISOR_COMMAND = /supervisor\/main\.(ts|js)|scripts\/start\.mjs(.supervisor)?$/;
export const WORKER_COMMAND = /worker\/main\.(ts|js)|scripts\/start\.mjs.worker/;

let builtChecked = false;
/** The node arguments that run an entry point the way `npm start` does: the compiled JavaScript, linked
 *  (dist/linked/), so that the suites test the code that runs. Refuses a build older than the sources. */
export function entryArgs(entry: 'supervisor/main.ts' | 'worker/main.ts'): string[] {
  if (!builtChecked) {
    const state = buildState(PROJECT_ROOT);
    if (!state.fresh) throw new Error(`${state.reason}: run "npm run build" first (npm test does)`);
    builtChecked = true;
  }
  return [entryPoint(entry === 'supervisor/main.ts' ? 'supervisor' : 'worker', true)];
}

/** The node arguments of a compiled worker started the way the supervisor starts one (its linked entry). */
export function supervisedWorkerArgs(): string[] {
  entryArgs('worker/main.ts'); // the build check
  return workerArgs(true);
}

/** Runs a project entry point (`worker/main.ts`, `supervisor/main.ts`), compiled, with Node 22 in its own
 *  process group, with a minimal environment: PATH, HOME, LOG_LEVEL=debug and `env`. */
export function startEntry(entry: 'supervisor/main.ts' | 'worker/main.ts', env: Record<string, string>, options: Omit<StartOptions, 'env' | 'cwd'> = {}): Started {
  return startProcess(process.execPath, entryArgs(entry), {
    ...options,
    cwd: PROJECT_ROOT,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', LOG_LEVEL: 'debug', ...env },
  });
}

/** Waits for `ready` (a log line, a port answering); when that fails, kills the process before passing the
 *  error on, so that a start that went wrong leaves nothing running. */
export async function killOnFailure<T>(proc: Started, ready: Promise<T>): Promise<T> {
  try {
    return await ready;
  } catch (error) {
    await proc.kill();
    throw error;
  }
}

/** True while a process with this pid exists. */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The process's state letter (`R`, `S`, `Z`, …), or null when it does not exist. */
export function stateOf(pid: number): string | null {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
  } catch {
    return null;
  }
}

/** True when the process exists and is not a zombie. */
export function isRunning(pid: number): boolean {
  const state = stateOf(pid);
  return state !== null && state !== 'Z';
}

/** True when the pid is a live (not zombie) worker process: never signal a reused pid. */
export function isWorkerProcess(pid: number): boolean {
  try {
    if (!WORKER_COMMAND.test(fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8'))) return false;
  } catch {
    return false;
  }
  return isRunning(pid);
}

const workerPids = new Set<number>();
process.on('exit', () => {
  for (const pid of workerPids) if (isWorkerProcess(pid)) killGroup(pid);
});

/** A worker pid a helper saw (a supervisor's child): SIGKILLed, while it still is a worker, when the test
 *  process exits, whatever happened. */
export function rememberWorker(pid: number): void {
  workerPids.add(pid);
}

/** SIGKILL of each of `pids` (and its process group) that still is a worker, then up to 5 s for all of them to
 *  be gone. */
export async function killWorkers(pids: Iterable<number>): Promise<void> {
  const list = [...pids];
  for (const pid of list) if (isWorkerProcess(pid)) killGroup(pid);
  await waitFor('every worker to be gone', () => list.every((pid) => !isWorkerProcess(pid)), 5000).catch(() => {});
  for (const pid of list) workerPids.delete(pid);
}

/** Thrown by a `waitFor` condition to end the wait at once: the test fails with this error instead of a
 *  timeout. Any other error a condition throws (a process not listening yet, a file not written yet) is
 *  retried until the time is up. */
export class FailNow extends Error {
  override name = 'FailNow';
}

/** Polls `condition` every 20 ms until it holds or `timeoutMs` passes (then throws with `what`). Errors the
 *  condition throws are retried (the last one is named in the timeout), except `FailNow`, which is thrown at
 *  once. */
export async function waitFor<T>(what: string, condition: () => T | Promise<T>, timeoutMs = 5000): Promise<NonNullable<T>> {
  const deadline = performance.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await condition();
      if (value) return value as NonNullable<T>;
    } catch (error) {
      if (error instanceof FailNow) throw error;
      last = error;
    }
    if (performance.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${(last as Error).message}` : ''}`);
    }
    await new Promise((r) => setTimeout(r, 20));
  }
}

export type Outcome<T> = { state: 'fulfilled'; value: T } | { state: 'rejected'; error: unknown } | { state: 'pending' };

/** How `promise` stands after at most `ms`: fulfilled, rejected, or still pending. For asserting that a
 *  request was answered or cut rather than left hanging (awaiting `promise.catch((e) => e)` asserts nothing). */
export async function settledWithin<T>(promise: Promise<T>, ms: number): Promise<Outcome<T>> {
  let timer: NodeJS.Timeout | undefined;
  const pending = new Promise<Outcome<T>>((resolve) => (timer = setTimeout(() => resolve({ state: 'pending' }), ms)));
  try {
    return await Promise.race([
      promise.then(
        (value): Outcome<T> => ({ state: 'fulfilled', value }),
        (error: unknown): Outcome<T> => ({ state: 'rejected', error }),
      ),
      pending,
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** Kills every worker (and Chrome) the records of config dir `configDir`'s runtime folder name, each only while
 *  it is the very process recorded: what a supervisor that was killed left behind. */
export async function killRecordedWorkers(configDir: string): Promise<void> {
  const records = (await Promise.all(runtimeDirsOf(configDir).map((dir) => new WorkerRecords(workerRecordsDir(dir)).list()))).flat();
  const pids: number[] = [];
  for (const record of records) {
    if (isSameProcess(record.pid, record.proc_start)) pids.push(record.pid);
    if (record.browser && isSameProcess(record.browser.pid, record.browser.proc_start)) pids.push(record.browser.pid);
  }
  for (const pid of pids) killGroup(pid);
  await waitFor('the recorded workers to be gone', () => pids.every((pid) => !isAlive(pid) || stateOf(pid) === 'Z'), 5000).catch(() => {});
}
