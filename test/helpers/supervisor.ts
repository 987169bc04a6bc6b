import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import { makeConfigDir, type TestConfigDir } from './config-dir.ts';
import { WORKER_COMMAND, isAlive, startEntry, waitFor, type Started } from './processes.ts';

/** One entry of `GET /supervisor/api/workers`. */
export interface WorkerInfo {
  handle: string | null;
  state: string;
  draining_for: 'recycle' | 'stop' | null;
  pid: number | null;
  port: number;
  direct_url: string | null;
  restarts: number;
  last_exit: { code: number | null; signal: string | null; at: string; reason: string } | null;
  problem: { code: string; message: string; port?: number } | null;
  held_requests: number;
  in_flight: number;
  is_current: boolean;
  port_moved: { from: number; to: number; at: string; saved: boolean } | null;
  stage: { text: string; started_at: number; limit_ms: number } | null;
}

export interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  text: string;
  /** The parsed JSON body, or the text when it is not JSON. */
  body: any;
}

export interface RawOptions {
  headers?: Record<string, string>;
  body?: unknown;
  /** Give up (reject) after this many ms; default 30 s. */
  timeoutMs?: number;
  /** The loopback address the request comes from (127.0.0.2, …): another client, as the server sees it. */
  localAddress?: string;
  /** A stream (Server-Sent Events) never ends: with `text/event-stream`, answer at its headers and hang up. */
  streamsEndAtHeaders?: boolean;
}

export interface RunningSupervisor {
  url: string;
  port: number;
  basePort: number;
  proc: Started;
  config: TestConfigDir;
  /** Every worker pid this supervisor was seen running (from its API and its log lines). */
  pids: Set<number>;
  /** One HTTP request to the supervisor, path sent exactly as given, on a fresh connection (no keep-alive). */
  request(method: string, path: string, options?: RawOptions): Promise<Reply>;
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
  /** SIGCONT + SIGKILL of every worker ever seen and of the supervisor's process group; removes the config
   *  dir unless it was passed in. Safe to call twice. */
  cleanup(): Promise<void>;
}

export interface StartSupervisorOptions {
  /** Profiles created in a new temp config dir (ignored when `config` is given). */
  profiles?: string[];
  /** An existing config dir: not removed by `cleanup` (its owner removes it). */
  config?: TestConfigDir;
  /** Settings as environment variables (START_TIMEOUT_MS, PROFILES, SUPERVISOR_TOKEN, …). */
  env?: Record<string, string>;
  /** Default: the first port of a free range below the kernel's ephemeral range (see `freeLowPorts`). */
  port?: number;
  /** Default: the port after `port`. */
  basePort?: number;
  /** How many consecutive free ports to reserve for workers (default 8). */
  portRange?: number;
  /** Wait until these handles are ready (default: `profiles`; `[]` to not wait). */
  waitReady?: string[];
}

const everyWorkerPid = new Set<number>();
process.on('exit', () => {
  for (const pid of everyWorkerPid) killWorkerPid(pid);
});

/** Starts the supervisor on free ports with a temp config dir and waits for it (and its workers). */
export async function startSupervisor(options: StartSupervisorOptions = {}): Promise<RunningSupervisor> {
  const ownConfig = !options.config;
  const config = options.config ?? (await makeConfigDir({ profiles: options.profiles ?? [] }));
  let port = options.port;
  let basePort = options.basePort;
  if (port === undefined || basePort === undefined) {
    const first = await freeLowPorts((options.portRange ?? 8) + 1);
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
      everyWorkerPid.add(pid);
    }
  };
  const rememberFromLogs = () => {
    for (const line of proc.lines) if ('handle' in line && typeof line.pid === 'number') remember(line.pid);
  };

  const request = (method: string, path: string, o: RawOptions = {}) => rawRequest(port, method, path, o);
  // With sign-in on, the helper watches the workers as an admin (SUPERVISOR_TOKEN); tests make their own calls.
  const watcher: Record<string, string> = options.env?.SUPERVISOR_TOKEN ? { authorization: `Bearer ${options.env.SUPERVISOR_TOKEN}` } : {};
  const workers = async () => {
    const reply = await request('GET', '/supervisor/api/workers', { headers: watcher });
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
      const list = await rawRequest(port, 'GET', '/supervisor/api/workers', { timeoutMs: 2000, headers: watcher }).then((r) => r.text, (e: Error) => e.message);
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
    request,
    get: (path, headers) => request('GET', path, { headers }),
    post: (path, body, headers) => request('POST', path, { body, headers }),
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
      const reply = await request('GET', '/supervisor/api/workers', { headers: watcher });
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
      await proc.kill();
      for (const pid of pids) killWorkerPid(pid);
      await waitFor('every worker to be gone', () => [...pids].every((pid) => !isWorkerProcess(pid)), 5000).catch(() => {});
      for (const pid of pids) everyWorkerPid.delete(pid);
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

/** `count` consecutive free ports below the kernel's ephemeral range (32768+ on Linux): a port from that range
 *  can be taken between this check and the supervisor binding it, by any outgoing connection of any process. */
export async function freeLowPorts(count: number): Promise<number> {
  for (let attempt = 0; attempt < 100; attempt++) {
    const base = 20000 + Math.floor(Math.random() * (12_000 - count));
    if ((await Promise.all(Array.from({ length: count }, (_, i) => portIsFree(base + i)))).every(Boolean)) return base;
  }
  throw new Error(`no ${count} consecutive free ports found`);
}

/** A request with the path sent verbatim (no URL normalisation) on its own connection. */
export function rawRequest(port: number, method: string, path: string, options: RawOptions = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { ...options.headers };
    let payload: Buffer | undefined;
    if (options.body !== undefined) {
      payload = Buffer.from(typeof options.body === 'string' ? options.body : JSON.stringify(options.body));
      if (!Object.keys(headers).some((k) => k.toLowerCase() === 'content-type')) headers['content-type'] = 'application/json';
      headers['content-length'] = String(payload.length);
    }
    const req = http.request({ host: '127.0.0.1', port, method, path, headers, agent: false, ...(options.localAddress ? { localAddress: options.localAddress } : {}) }, (res) => {
      let text = '';
      if (options.streamsEndAtHeaders && String(res.headers['content-type']).startsWith('text/event-stream')) {
        clearTimeout(timer);
        req.destroy();
        resolve({ status: res.statusCode ?? 0, headers: res.headers, text, body: text });
        return;
      }
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (text += chunk));
      res.on('end', () => {
        clearTimeout(timer);
        let body: any = text;
        try {
          body = JSON.parse(text);
        } catch {
          // not JSON
        }
        resolve({ status: res.statusCode ?? 0, headers: res.headers, text, body });
      });
      res.on('error', (error) => {
        clearTimeout(timer);
        reject(error);
      });
    });
    const timer = setTimeout(() => {
      req.destroy(new Error(`${method} ${path} got no answer within ${options.timeoutMs ?? 30_000} ms`));
    }, options.timeoutMs ?? 30_000);
    req.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    req.end(payload);
  });
}

/** True when the pid is a live (not zombie) worker process: never signal a reused pid. */
export function isWorkerProcess(pid: number): boolean {
  try {
    const cmdline = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    if (!WORKER_COMMAND.test(cmdline)) return false;
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

/** True when the process exists and is not a zombie. */
export function isRunning(pid: number): boolean {
  if (!isAlive(pid)) return false;
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

function killWorkerPid(pid: number): void {
  if (!isWorkerProcess(pid)) return;
  for (const target of [-pid, pid]) {
    try {
      process.kill(target, 'SIGKILL');
    } catch {
      // not a group leader, or gone
    }
  }
}

/** The inodes of the sockets a process holds open (`/proc/<pid>/fd` entries that link to `socket:[…]`). */
export function socketInodes(pid: number): Set<string> {
  const inodes = new Set<string>();
  for (const fd of fs.readdirSync(`/proc/${pid}/fd`)) {
    try {
      const m = /^socket:\[(\d+)\]$/.exec(fs.readlinkSync(`/proc/${pid}/fd/${fd}`));
      if (m) inodes.add(m[1]!);
    } catch {
      // closed meanwhile
    }
  }
  return inodes;
}

/** How many sockets a process holds open. */
export function socketCount(pid: number): number {
  return socketInodes(pid).size;
}

/** True when nothing listens on the port: we can bind it ourselves. */
export function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
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
