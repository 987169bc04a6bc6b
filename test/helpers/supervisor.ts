import { makeConfigDir, type TestConfigDir } from './config-dir.ts';
import { client, request, type Reply, type RequestOptions } from './http.ts';
import { freePortRange } from './ports.ts';
import { isWorkerProcess, killRecordedWorkers, killWorkers, rememberWorker, settledWithin, startEntry, waitFor, type Started } from './processes.ts';

// Still importable from here, as before (suites being edited elsewhere import them from this file).
export type { Reply } from './http.ts';
export { isRunning } from './processes.ts';
export { socketCount, socketInodes } from './process-measures.ts';

/** One entry of `GET /supervisor/api/workers`. */
export interface WorkerInfo {
  handle: string | null;
  state: string;
  draining_for: 'recycle' | 'stop' | null;
  pid: number | null;
  port: number;
  direct_url: string | null;
  started_at: string | null;
  uptime_ms: number | null;
  restarts: number;
  version: 'current' | 'older' | null;
  last_exit: { code: number | null; signal: string | null; at: string; reason: string } | null;
  problem: { code: string; message: string; port?: number } | null;
  held_requests: number;
  in_flight: number;
  work: string[];
  is_current: boolean;
  port_moved: { from: number; to: number; at: string; saved: boolean } | null;
  stage: { text: string; started_at: number; limit_ms: number } | null;
}

export interface RunningSupervisor {
  url: string;
  port: number;
  basePort: number;
  proc: Started;
  config: TestConfigDir;
  /** Every worker pid this supervisor was seen running (from its API and its log lines). */
  pids: Set<number>;
  /** One HTTP request to the supervisor (http.ts), path sent exactly as given, on a fresh connection (no
   *  keep-alive); a string body is JSON unless `headers` name a content type. */
  request(method: string, path: string, options?: RequestOptions): Promise<Reply>;
  get(path: string, headers?: Record<string, string>): Promise<Reply>;
  post(path: string, body?: unknown, headers?: Record<string, string>): Promise<Reply>;
  workers(): Promise<WorkerInfo[]>;
  worker(handle: string): Promise<WorkerInfo | undefined>;
  /** Polls the worker list until `handle` is in `state` (and `extra` holds, when given). */
  waitForState(handle: string, state: string, timeoutMs?: number, extra?: (w: WorkerInfo) => boolean): Promise<WorkerInfo>;
  /** Waits until a process for `handle` runs (state `starting` or `ready`), other than `notPid` when given:
   *  the supervisor's part of a start, without the worker's own start-up time. */
  waitForStarted(handle: string, timeoutMs?: number, notPid?: number | null): Promise<WorkerInfo>;
  /** The supervisor's current profile (where /api goes), from its API. */
  current(): Promise<string | null>;
  /** Waits for every handle to be `ready`; returns their entries by handle. */
  waitForReady(handles: string[], timeoutMs?: number): Promise<Map<string, WorkerInfo>>;
  /** SIGUSR2 (a whole-system stop), then SIGCONT + SIGKILL of every worker ever seen or recorded and of the
   *  supervisor's process group; removes the config dir unless it was passed in. Safe to call twice. */
  cleanup(): Promise<void>;
}

export interface StartSupervisorOptions {
  /** Profiles created in a new temp config dir (ignored when `config` is given). */
  profiles?: string[];
  /** An existing config dir: not removed by `cleanup` (its owner removes it). */
  config?: TestConfigDir;
  /** Settings as environment variables (START_TIMEOUT_MS, PROFILES, SUPERVISOR_TOKEN, …). */
  env?: Record<string, string>;
  /** Default: the first port of a free range below the kernel's ephemeral range (see `freePortRange`). */
  port?: number;
  /** Default: the port after `port`. */
  basePort?: number;
  /** How many consecutive free ports to reserve for workers (default 8). */
  portRange?: number;
  /** Wait until these handles are ready (default: `profiles`; `[]` to not wait). */
  waitReady?: string[];
}

/** Starts the supervisor on free ports with a temp config dir and waits for it (and its workers). */
export async function startSupervisor(options: StartSupervisorOptions = {}): Promise<RunningSupervisor> {
  const ownConfig = !options.config;
  const config = options.config ?? (await makeConfigDir({ profiles: options.profiles ?? [] }));
  let port = options.port;
  let basePort = options.basePort;
  if (port === undefined || basePort === undefined) {
    const first = await freePortRange((options.portRange ?? 8) + 1);
    port ??= first;
    basePort ??= first + 1;
  }
  const proc = startEntry('supervisor/main.ts', {
    TAT_CONFIG_DIR: config.dir,
    PORT: String(port),
    WORKER_BASE_PORT: String(basePort),
    ...options.env,
  });
  const url = `http://127.0.0.1:${port}`;
  const pids = new Set<number>();
  const remember = (pid: number | null | undefined) => {
    if (typeof pid === 'number' && pid > 0 && pid !== proc.pid) {
      pids.add(pid);
      rememberWorker(pid);
    }
  };
  const rememberFromLogs = () => {
    for (const line of proc.lines) if ('handle' in line && typeof line.pid === 'number') remember(line.pid);
  };

  const http = client(port, { jsonStrings: true });
  // With sign-in on, the helper watches the workers as an admin (SUPERVISOR_TOKEN); tests make their own calls.
  const watcher: Record<string, string> = options.env?.SUPERVISOR_TOKEN ? { authorization: `Bearer ${options.env.SUPERVISOR_TOKEN}` } : {};
  const workers = async () => {
    const reply = await http.get('/supervisor/api/workers', watcher);
    if (reply.status !== 200) throw new Error(`GET /supervisor/api/workers answered ${reply.status}: ${reply.text}`);
    const list = reply.body.workers as WorkerInfo[];
    for (const w of list) remember(w.pid);
    return list;
  };
  const worker = async (handle: string) => (await workers()).find((w) => w.handle === handle);
  /** `waitFor`, with the worker list and the supervisor's last output in the error when it times out. */
  const explained = async <T>(what: string, condition: () => Promise<T>, timeoutMs: number): Promise<NonNullable<T>> => {
    try {
      return await waitFor(what, condition, timeoutMs);
    } catch (error) {
      const list = await request(port, 'GET', '/supervisor/api/workers', { timeoutMs: 2000, headers: watcher }).then((r) => r.text, (e: Error) => e.message);
      (error as Error).message += `\nworkers: ${list}\nsupervisor output (tail):\n${proc.output().slice(-3000)}`;
      throw error;
    }
  };
  const waitForState = (handle: string, state: string, timeoutMs = 15_000, extra?: (w: WorkerInfo) => boolean) =>
    explained(
      `worker "${handle}" to be ${state}`,
      async () => {
        const w = await worker(handle);
        return w && w.state === state && (!extra || extra(w)) ? w : null;
      },
      timeoutMs,
    );

  let cleaned = false;
  const running: RunningSupervisor = {
    url,
    port,
    basePort,
    proc,
    config,
    pids,
    request: http.send,
    get: http.get,
    post: http.post,
    workers,
    worker,
    waitForState,
    waitForStarted: (handle, timeoutMs = 10_000, notPid = null) =>
      explained(
        `a process for "${handle}" to start`,
        async () => {
          const w = await worker(handle);
          return w && (w.state === 'starting' || w.state === 'ready') && w.pid && w.pid !== notPid ? w : null;
        },
        timeoutMs,
      ),
    async current() {
      const reply = await http.get('/supervisor/api/workers', watcher);
      return reply.body.current as string | null;
    },
    async waitForReady(handles, timeoutMs = 15_000) {
      const all = await explained(
        `workers ${handles.join(', ')} to be ready`,
        async () => {
          const list = await workers();
          const ready = handles.map((h) => list.find((w) => w.handle === h && w.state === 'ready'));
          return ready.every(Boolean) ? (ready as WorkerInfo[]) : null;
        },
        timeoutMs,
      );
      return new Map(all.map((w) => [w.handle!, w]));
    },
    async cleanup() {
      if (cleaned) return;
      cleaned = true;
      rememberFromLogs();
      for (const pid of pids) {
        try {
          if (isWorkerProcess(pid)) process.kill(pid, 'SIGCONT');
        } catch {
          // gone
        }
      }
      // The whole system stops first, as `npm run stop` stops it (SIGUSR2): workers and their Chrome go
      // gracefully; whatever is left after the bound is killed, and so is every worker its records name.
      if (proc.child.exitCode === null && proc.child.signalCode === null) {
        proc.child.kill('SIGUSR2');
        await settledWithin(proc.exited(), Number(options.env?.STOP_TIMEOUT_MS ?? 10_000) + 2000);
      }
      await proc.kill();
      await killRecordedWorkers(config.dir);
      await killWorkers(pids);
      if (ownConfig) await config.remove();
    },
  };
  try {
    await proc.waitForLine((l) => typeof l.msg === 'string' && l.msg.startsWith('supervisor listening'), 20_000);
    const wait = options.waitReady ?? options.profiles ?? [];
    if (wait.length > 0) await running.waitForReady(wait);
  } catch (error) {
    await running.cleanup();
    throw error;
  }
  return running;
}

/** Sends `SIGSTOP` to a worker (a hung process: the kernel still accepts connections, nothing answers);
 *  returns the matching SIGCONT, safe to call when the process is gone. */
export function freeze(pid: number): () => void {
  process.kill(pid, 'SIGSTOP');
  let thawed = false;
  return () => {
    if (thawed) return;
    thawed = true;
    try {
      if (isWorkerProcess(pid)) process.kill(pid, 'SIGCONT');
    } catch {
      // gone
    }
  };
}

/** Runs `fn` over and over (with `concurrency` loops, `pauseMs` apart) until the returned stop() is awaited;
 *  collects every result so a test can assert that none failed. `count()` is how many calls have finished so
 *  far (results and errors), for waiting until some traffic has happened. */
export function hammer<T>(fn: () => Promise<T>, concurrency = 3, pauseMs = 0): { count(): number; stop(): Promise<{ results: T[]; errors: unknown[] }> } {
  let running = true;
  const results: T[] = [];
  const errors: unknown[] = [];
  const loops = Array.from({ length: concurrency }, async () => {
    while (running) {
      try {
        results.push(await fn());
      } catch (error) {
        errors.push(error);
      }
      if (pauseMs > 0) await new Promise((resolve) => setTimeout(resolve, pauseMs));
    }
  });
  return {
    count: () => results.length + errors.length,
    async stop() {
      running = false;
      await Promise.all(loops);
      return { results, errors };
    },
  };
}
