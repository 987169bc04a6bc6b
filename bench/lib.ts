import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { spawn, type ChildProcess } from 'node:child_process';
import autocannon from 'autocannon';
import { makeConfigDir, type TestConfigDir } from '../test/helpers/config-dir.ts';
import { freePort, freePortRange } from '../test/helpers/ports.ts';
import { startProcess, supervisedWorkerArgs, waitFor, type Started } from '../test/helpers/processes.ts';
import { compileCacheDir } from '../supervisor/workers/runtime-dir.ts';
import { PROJECT_ROOT } from '../shared/profiles/paths.ts';
import { statFields } from '../test/helpers/process-table.ts';

export { makeConfigDir, freePort, freePortRange, waitFor };

/** Benchmark size: `tiny` for the smoke test (seconds), `full` for the recorded figures. */
export type Size = 'tiny' | 'full';

export interface Row {
  figure: string;
  value: string;
  target: string;
  met: boolean | null;
  note?: string;
}

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

export interface RunningSupervisor {
  url: string;
  port: number;
  /** The first worker port. */
  base: number;
  proc: Started;
  config: TestConfigDir;
  workers(): Promise<any[]>;
  worker(handle: string): Promise<any>;
  waitAllReady(count: number, timeoutMs?: number): Promise<void>;
  stop(): Promise<void>;
}

/** A supervisor on a temp config dir with `profiles` registered, quiet logs; or, with `after`, the next
 *  supervisor on an earlier one's config dir and ports. */
export async function startSupervisor(profiles: string[], env: Record<string, string> = {}, after?: RunningSupervisor | { config: TestConfigDir }): Promise<RunningSupervisor> {
  const config = after?.config ?? (await makeConfigDir({ profiles }));
  const earlier = after && 'port' in after ? after : undefined;
  const port = earlier?.port ?? (await freePort());
  const base = earlier?.base ?? (await freePortRange(profiles.length + 2));
  // As an operator starts it (`npm start`): scripts/start.mjs, with its build check and compile cache.
  const proc = startProcess(process.execPath, [path.join(PROJECT_ROOT, 'scripts', 'start.mjs'), 'supervisor'], { cwd: PROJECT_ROOT, env: {
    PATH: process.env.PATH ?? '',
    HOME: process.env.HOME ?? '',
    TAT_CONFIG_DIR: config.dir,
    PORT: String(port),
    WORKER_BASE_PORT: String(base),
    LOG_LEVEL: 'warn',
    STOP_TIMEOUT_MS: '5000',
    ...env,
  } });
  await waitFor('the supervisor to listen', () => getJson(`http://127.0.0.1:${port}/healthz`).catch(() => null), 30_000);
  const url = `http://127.0.0.1:${port}`;
  const asAdmin = env.SUPERVISOR_TOKEN ? { headers: { authorization: `Bearer ${env.SUPERVISOR_TOKEN}` } } : {};
  const workers = async () => (await getJson(`${url}/supervisor/api/workers`, asAdmin)).workers as any[];
  return {
    url,
    port,
    base,
    proc,
    config,
    workers,
    worker: async (h) => (await workers()).find((w) => w.handle === h),
    async waitAllReady(count, timeoutMs = 30_000) {
      // /healthz counts states without reading every worker's memory, so watching costs the start little.
      await waitFor(`${count} workers ready`, async () => ((await getJson(`${url}/healthz`)).workers.ready ?? 0) >= count, timeoutMs);
    },
    async stop() {
      // The whole system, workers included (as `npm run stop`): SIGTERM would leave them for a next supervisor.
      proc.child.kill('SIGUSR2');
      const exited = await Promise.race([proc.exited().then(() => true), new Promise((r) => setTimeout(() => r(false), 15_000))]);
      if (!exited) await proc.kill();
      await config.remove();
    },
  };
}

/** The environment of a worker started as the supervisor starts one: its compile cache, and `env`. */
export function supervisedWorkerEnv(env: Record<string, string>): Record<string, string> {
  const cache = compileCacheDir();
  return { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...(cache ? { NODE_COMPILE_CACHE: cache } : {}), LOG_LEVEL: 'warn', ...env };
}

/** A compiled worker process started as the supervisor starts one: its linked entry, its compile cache. */
export function startWorkerProcess(env: Record<string, string>): Started {
  return startProcess(process.execPath, supervisedWorkerArgs(), { cwd: PROJECT_ROOT, env: supervisedWorkerEnv(env) });
}

const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });

export function getJson(url: string, init: { method?: string; body?: string; headers?: Record<string, string> } = {}): Promise<any> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: init.method ?? 'GET', agent, headers: init.headers }, (res) => {
      let text = '';
      res.setEncoding('utf8').on('data', (c) => (text += c)).on('end', () => {
        if ((res.statusCode ?? 500) >= 400) reject(new Error(`${url}: ${res.statusCode} ${text.slice(0, 200)}`));
        else {
          try {
            resolve(JSON.parse(text));
          } catch {
            resolve(text);
          }
        }
      });
    });
    req.on('error', reject);
    req.setTimeout(30_000, () => req.destroy(new Error('timeout')));
    req.end(init.body);
  });
}

export interface LoadResult {
  rps: number;
  p50: number;
  p99: number;
  errors: number;
  non2xx: number;
  requests: number;
}

export interface WrkResult {
  rps: number;
  /** Latency percentiles, µs. */
  p50: number;
  p99: number;
  /** Socket errors and non-2xx/3xx answers. */
  failed: number;
  /** Requests completed. */
  requests: number;
}

const WRK = ['/usr/bin/wrk', '/usr/local/bin/wrk'].find((p) => fs.existsSync(p));

/** Debian's wrk: a load generator written in C, so that the two cores go to what is measured rather than to
 *  the client. Bounded in time and connections. */
export async function wrk(url: string, options: { connections: number; seconds: number; headers?: Record<string, string> }): Promise<WrkResult> {
  if (!WRK) throw new Error('the benchmarks need wrk (Debian: apt-get install wrk)');
  const headers = Object.entries(options.headers ?? {}).flatMap(([name, value]) => ['-H', `${name}: ${value}`]);
  const child = spawn(WRK, ['-t1', `-c${options.connections}`, `-d${options.seconds}s`, '--latency', '--timeout', '10s', ...headers, url], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.setEncoding('utf8').on('data', (c: string) => (out += c));
  child.stderr!.setEncoding('utf8').on('data', (c: string) => (out += c));
  const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1]);
  if (code !== 0 || !Number.isFinite(rps)) throw new Error(`wrk ${url} failed (${code}):\n${out}`);
  const latency = (p: string) => {
    const m = new RegExp(`^\\s+${p}%\\s+([\\d.]+)(us|ms|s)\\s*$`, 'm').exec(out);
    if (!m) throw new Error(`no ${p}% latency in wrk's output:\n${out}`);
    return Number(m[1]) * (m[2] === 'us' ? 1 : m[2] === 'ms' ? 1000 : 1_000_000);
  };
  const socketErrors = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out);
  const non2xx = Number(/Non-2xx or 3xx responses: (\d+)/.exec(out)?.[1] ?? 0);
  const failed = non2xx + (socketErrors ? socketErrors.slice(1).reduce((a, n) => a + Number(n), 0) : 0);
  const requests = Number(/(\d+) requests in/.exec(out)?.[1] ?? 0);
  return { rps, p50: latency('50'), p99: latency('99'), failed, requests };
}

/** autocannon at a fixed rate (wrk has none), bounded in time and connections: for the recycle figure, where
 *  the client's own cost does not matter. */
export async function load(url: string, options: { connections: number; seconds: number; rate?: number }): Promise<LoadResult> {
  const result = await autocannon({
    url,
    connections: options.connections,
    duration: options.seconds,
    ...(options.rate ? { overallRate: options.rate } : {}),
    timeout: 20,
  });
  return {
    rps: result.requests.average,
    p50: result.latency.p50,
    p99: result.latency.p99,
    errors: result.errors + result.timeouts,
    non2xx: result.non2xx,
    requests: result.requests.total,
  };
}

/** CPU time a process has used so far, user + system, in µs (`/proc/<pid>/stat`, all its threads). */
export function cpuMicros(pid: number): number {
  const fields = statFields(pid);
  if (!fields) throw new Error(`process ${pid} is gone`);
  return ((Number(fields[11]) + Number(fields[12])) * 1_000_000) / CLOCK_TICKS; // utime, stime
}

/** USER_HZ: Linux reports process times in 1/100 s on every architecture Node runs on. */
const CLOCK_TICKS = 100;

/** Resident set size; and the proportional share (PSS), which counts shared pages (the Node binary's
 *  code, mapped by every worker) once across processes instead of once per process. */
export function memoryOf(pid: number): { rss: number; pss: number; privateBytes: number } {
  const text = fs.readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8');
  const kb = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+)`, 'm').exec(text)?.[1] ?? 0) * 1024;
  return { rss: kb('Rss'), pss: kb('Pss'), privateBytes: kb('Private_Dirty') + kb('Private_Clean') };
}

export const mb = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MB`;

export function machine(): string {
  const cpus = os.cpus();
  return `${cpus.length} × ${cpus[0]?.model.trim() ?? 'cpu'}, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, ${os.type()} ${os.release()}, Node ${process.version}`;
}

export function spawnQuiet(command: string, args: string[], env: Record<string, string> = {}): ChildProcess {
  return spawn(command, args, { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, ...env }, detached: true });
}

export function killGroup(child: ChildProcess): void {
  try {
    process.kill(-child.pid!, 'SIGKILL');
  } catch {
    child.kill('SIGKILL');
  }
}
