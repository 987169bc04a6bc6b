import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { once } from 'node:events';
import { PROJECT_ROOT } from '../../shared/profiles/paths.ts';
import { buildState } from '../../scripts/build-state.mjs';

export interface LogLine {
  level?: number;
  msg?: string;
  [key: string]: unknown;
}

export interface Started {
  child: ChildProcess;
  pid: number;
  lines: LogLine[];
  /** Raw stdout + stderr text, for secret scans and failure messages. */
  output(): string;
  waitForLine(predicate: (line: LogLine) => boolean, timeoutMs?: number): Promise<LogLine>;
  exited(): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** SIGKILL of the process and its whole process group (safety net; tests that check clean stops use signals). */
  kill(): Promise<void>;
}

const live = new Set<Started>();
process.on('exit', () => {
  for (const s of live) killGroup(s.pid);
});

function killGroup(pid: number): void {
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

/** What a process's command line looks like when it runs the supervisor or a worker (the compiled entry,
 *  the source, or the `npm start` launcher, whose arguments pm2's process title leaves out). */
export const SUPERVISOR_COMMAND = /supervisor\/main\.(ts|js)|scripts\/start\.mjs(.supervisor)?$/;
export const WORKER_COMMAND = /worker\/main\.(ts|js)|scripts\/start\.mjs.worker/;

let builtChecked = false;
/** The node arguments that run an entry point the way `npm start` does: the compiled JavaScript in dist/,
 *  with source maps, so that the suites test the code that runs. Refuses a build older than the sources. */
export function entryArgs(entry: 'supervisor/main.ts' | 'worker/main.ts'): string[] {
  if (!builtChecked) {
    const state = buildState(PROJECT_ROOT);
    if (!state.fresh) throw new Error(`${state.reason}: run "npm run build" first (npm test does)`);
    builtChecked = true;
  }
  return ['--enable-source-maps', path.join(PROJECT_ROOT, 'dist', entry.replace(/\.ts$/, '.js'))];
}

/** Runs a project entry point (`worker/main.ts`, `supervisor/main.ts`), compiled, with Node 22 in its own
 *  process group. */
export function startEntry(entry: 'supervisor/main.ts' | 'worker/main.ts', env: Record<string, string>, options: { ipc?: boolean } = {}): Started {
  const child = spawn(process.execPath, entryArgs(entry), {
    cwd: PROJECT_ROOT,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', LOG_LEVEL: 'debug', ...env },
    stdio: options.ipc ? ['ignore', 'pipe', 'pipe', 'ipc'] : ['ignore', 'pipe', 'pipe'],
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
    async kill() {
      live.delete(started);
      killGroup(child.pid!);
      if (child.exitCode === null && child.signalCode === null) await exit;
    },
  };
  live.add(started);
  void exit.then(() => live.delete(started));
  return started;
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
