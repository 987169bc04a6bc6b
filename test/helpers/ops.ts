// Helpers for the operations suites (test/integration/ops-*.test.ts): pm2, nginx and a small Prometheus text
// parser. Linux only (/proc).
import { execFile, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { PROJECT_ROOT } from '../../shared/profiles/paths.ts';
import { request } from './http.ts';
import { cmdlineOf, childrenOf, killProcessesWithEnv, processesWithEnv } from './process-table.ts';
import { FailNow, isRunning, startProcess, waitFor } from './processes.ts';

// ——— tools ———

/** Whether `binary args…` runs (exit 0), and why not. */
export function toolAvailability(binary: string, args: string[]): { available: boolean; reason: string } {
  const probe = spawnSync(binary, args, { encoding: 'utf8' });
  if (probe.error || probe.status !== 0) {
    return { available: false, reason: `"${binary} ${args.join(' ')}" failed (${probe.error?.message ?? `exit ${probe.status}: ${probe.stderr}`})` };
  }
  return { available: true, reason: '' };
}

export function run(binary: string, args: string[], options: { env?: NodeJS.ProcessEnv; cwd?: string; timeoutMs?: number } = {}) {
  return new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
    execFile(
      binary,
      args,
      { env: options.env ?? process.env, cwd: options.cwd ?? PROJECT_ROOT, timeout: options.timeoutMs ?? 60_000, maxBuffer: 32 * 1024 * 1024, encoding: 'utf8' },
      (error, stdout, stderr) => {
        const code = error ? (typeof (error as { code?: unknown }).code === 'number' ? ((error as { code: number }).code) : -1) : 0;
        resolve({ code, stdout, stderr: error && code === -1 ? `${stderr}\n${error.message}` : stderr });
      },
    );
  });
}

// ——— pm2 ———

export const PM2_CLI = path.join(PROJECT_ROOT, 'node_modules', 'pm2', 'bin', 'pm2');
export const PROJECT_NODE = path.join(PROJECT_ROOT, 'node_modules', 'node', 'bin', 'node');

export interface Pm2App {
  pid: number;
  name: string;
  pm2_env: Record<string, any>;
}

export interface Pm2 {
  home: string;
  env: NodeJS.ProcessEnv;
  /** Runs the pm2 CLI (with Node 22) in the project dir; rejects on a non-zero exit. */
  cli(...args: string[]): Promise<string>;
  jlist(): Promise<Pm2App[]>;
  /** The God daemon's pid (PM2_HOME/pm2.pid), or null before it runs. */
  daemonPid(): number | null;
  /** `pm2 kill`, then SIGKILL of the daemon and of every process that carries this PM2_HOME, if any is
   *  left; removes PM2_HOME. Safe to call twice. */
  cleanup(): Promise<void>;
}

/** A pm2 of our own: PM2_HOME in a temp dir, so nothing touches ~/.pm2 or another pm2. */
export async function makePm2(env: Record<string, string>): Promise<Pm2> {
  const home = await fsp.mkdtemp(path.join(os.tmpdir(), 'tat-pm2-'));
  const fullEnv: NodeJS.ProcessEnv = { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? home, PM2_HOME: home, FORCE_COLOR: '0', ...env };
  const seenDaemons = new Set<number>();
  const daemonPid = () => {
    try {
      const pid = Number(fs.readFileSync(path.join(home, 'pm2.pid'), 'utf8').trim());
      if (pid > 0) seenDaemons.add(pid);
      return pid > 0 ? pid : null;
    } catch {
      return null;
    }
  };
  const cli = async (...args: string[]) => {
    const result = await run(process.execPath, [PM2_CLI, ...args], { env: fullEnv, timeoutMs: 60_000 });
    daemonPid();
    if (result.code !== 0) throw new Error(`pm2 ${args.join(' ')} exited ${result.code}:\n${result.stdout}\n${result.stderr}`);
    return result.stdout;
  };
  let cleaned = false;
  return {
    home,
    env: fullEnv,
    cli,
    async jlist() {
      const out = await cli('jlist');
      const start = out.indexOf('[');
      if (start === -1) throw new Error(`pm2 jlist printed no JSON:\n${out}`);
      return JSON.parse(out.slice(start)) as Pm2App[];
    },
    daemonPid,
    async cleanup() {
      if (cleaned) return;
      cleaned = true;
      daemonPid();
      await run(process.execPath, [PM2_CLI, 'kill'], { env: fullEnv, timeoutMs: 30_000 });
      for (const pid of seenDaemons) {
        if (isRunning(pid) && cmdlineOf(pid).includes('PM2')) {
          try {
            process.kill(pid, 'SIGKILL');
          } catch {
            // gone
          }
        }
      }
      killProcessesWithEnv('PM2_HOME', home);
      await waitFor('pm2 processes to be gone', () => processesWithEnv('PM2_HOME', home).length === 0, 5000).catch(() => {});
      await fsp.rm(home, { recursive: true, force: true });
    },
  };
}

// ——— Prometheus text ———

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export interface Scrape {
  samples: Sample[];
  /** `# TYPE` lines: metric family name → type. */
  types: Map<string, string>;
  /** The one sample of `name` whose labels include `labels`, or undefined; throws when several match. */
  get(name: string, labels?: Record<string, string>): number | undefined;
  /** `get`, with 0 for a sample not (yet) exported: a counter with labels appears at its first increment. */
  value(name: string, labels?: Record<string, string>): number;
  /** Sum over every sample of `name` whose labels include `labels`. */
  sum(name: string, labels?: Record<string, string>): number;
}

export function parseMetrics(text: string): Scrape {
  const samples: Sample[] = [];
  const types = new Map<string, string>();
  for (const line of text.split('\n')) {
    if (!line.trim()) continue;
    if (line.startsWith('#')) {
      const m = /^# TYPE (\S+) (\S+)/.exec(line);
      if (m) types.set(m[1]!, m[2]!);
      continue;
    }
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})?\s+(\S+)/.exec(line);
    if (!m) throw new Error(`unparseable metrics line: ${line}`);
    const labels: Record<string, string> = {};
    if (m[3]) {
      const re = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;
      for (let l = re.exec(m[3]); l; l = re.exec(m[3])) labels[l[1]!] = l[2]!.replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c));
    }
    const raw = m[4]!;
    samples.push({ name: m[1]!, labels, value: raw === '+Inf' ? Infinity : raw === '-Inf' ? -Infinity : Number(raw) });
  }
  const matching = (name: string, labels: Record<string, string> = {}) =>
    samples.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));
  const get = (name: string, labels?: Record<string, string>) => {
    const hits = matching(name, labels);
    if (hits.length > 1) throw new Error(`${name} ${JSON.stringify(labels ?? {})} matches ${hits.length} samples`);
    return hits[0]?.value;
  };
  return {
    samples,
    types,
    get,
    value: (name, labels) => get(name, labels) ?? 0,
    sum: (name, labels) => matching(name, labels).reduce((total, s) => total + s.value, 0),
  };
}

// ——— nginx ———

export const NGINX = process.env.NGINX_BINARY ?? '/usr/sbin/nginx';

export function nginxAvailability(): { available: boolean; reason: string } {
  const probe = toolAvailability(NGINX, ['-v']);
  return probe.available ? probe : { available: false, reason: `${probe.reason}; install Debian's nginx package` };
}

export interface RunningNginx {
  port: number;
  pid: number;
  dir: string;
  /** Master and worker pids seen so far. */
  pids: Set<number>;
  output(): string;
  /** Graceful stop (SIGQUIT), SIGKILL of the group after `timeoutMs`; removes the dir. Safe to call twice. */
  stop(timeoutMs?: number): Promise<void>;
}

/** Debian's nginx in the foreground with a prefix and config of its own (temp dir), serving `siteConf`
 *  (an `http {}`-level file) on 127.0.0.1:<port>. Checks the config with `nginx -t` first. */
export async function startNginx(siteConf: string, port: number): Promise<RunningNginx> {
  const dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'tat-nginx-'));
  const temp = (name: string) => path.join(dir, 'temp', name);
  for (const name of ['body', 'proxy', 'fastcgi', 'uwsgi', 'scgi']) await fsp.mkdir(temp(name), { recursive: true });
  await fsp.mkdir(path.join(dir, 'logs'), { recursive: true });
  const conf = path.join(dir, 'nginx.conf');
  await fsp.writeFile(
    conf,
    [
      'daemon off;',
      'master_process on;',
      'worker_processes 1;',
      // As root, workers would run as nobody and could not enter the (0700) temp dir.
      ...(process.getuid?.() === 0 ? ['user root;'] : []),
      `pid ${path.join(dir, 'nginx.pid')};`,
      'error_log stderr warn;',
      'events { worker_connections 512; }',
      'http {',
      '    access_log off;',
      // As in Debian's /etc/nginx/nginx.conf.
      '    default_type application/octet-stream;',
      `    client_body_temp_path ${temp('body')};`,
      `    proxy_temp_path ${temp('proxy')};`,
      `    fastcgi_temp_path ${temp('fastcgi')};`,
      `    uwsgi_temp_path ${temp('uwsgi')};`,
      `    scgi_temp_path ${temp('scgi')};`,
      `    include ${siteConf};`,
      '}',
      '',
    ].join('\n'),
  );
  const args = ['-p', `${dir}/`, '-c', conf, '-e', 'stderr'];
  const check = await run(NGINX, ['-t', ...args], { timeoutMs: 20_000 });
  if (check.code !== 0) throw new Error(`nginx -t rejected the configuration:\n${check.stderr}\n${fs.readFileSync(siteConf, 'utf8')}`);

  const proc = startProcess(NGINX, args);
  const pid = proc.pid;
  const pids = new Set<number>([pid]);
  const remember = () => {
    for (const c of childrenOf(pid)) pids.add(c);
  };
  let stopped = false;
  const running: RunningNginx = {
    port,
    pid,
    dir,
    pids,
    output: proc.output,
    async stop(timeoutMs = 5000) {
      if (stopped) return;
      stopped = true;
      remember();
      await proc.stop('SIGQUIT', timeoutMs);
      // Workers of a killed master: by pid, and only while they still are nginx.
      for (const p of pids) {
        if (isRunning(p) && cmdlineOf(p).includes('nginx')) {
          try {
            process.kill(p, 'SIGKILL');
          } catch {
            // gone
          }
        }
      }
      liveNginx.delete(running);
      await fsp.rm(dir, { recursive: true, force: true });
    },
  };
  liveNginx.add(running);
  try {
    await waitFor(
      `nginx to answer on 127.0.0.1:${port}`,
      async () => {
        if (proc.child.exitCode !== null || proc.child.signalCode !== null) throw new FailNow(`nginx exited:\n${proc.output()}`); // no point waiting on
        const reply = await request(port, 'GET', '/nginx-probe', { timeoutMs: 1000 });
        return reply.status > 0;
      },
      10_000,
    );
    remember();
  } catch (error) {
    await running.stop();
    throw error;
  }
  return running;
}

const liveNginx = new Set<RunningNginx>();
process.on('exit', () => {
  for (const n of liveNginx) {
    for (const p of n.pids) {
      try {
        if (isRunning(p) && cmdlineOf(p).includes('nginx')) process.kill(p, 'SIGKILL');
      } catch {
        // gone
      }
    }
  }
});
