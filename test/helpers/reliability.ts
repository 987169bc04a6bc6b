// Helpers for the reliability suite (test/reliability/*.test.ts): an evidence log of every response and log
// line a scenario produced (scanned for secrets and `Access-Control-Allow-Origin: *` at the end), raw HTTP
// over `net` sockets (paths sent exactly as written), /proc readings (RSS, fds, sockets, listening
// addresses), a load generator that records every request, and a supervisor run as an unprivileged user.
// Linux only (/proc). Traffic goes to 127.0.0.1 only.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { PROJECT_ROOT } from '../../shared/profiles/paths.ts';
import { TEST_CLIENT_SECRET } from './config-dir.ts';
import { entryArgs, waitFor } from './processes.ts';
import { isWorkerProcess, socketCount, socketInodes } from './supervisor.ts';
import { parseMetrics } from './ops.ts';

export { socketCount };

// ——— secrets ———

/** Every secret the suite plants. None may reach a response body, a response header or a log line. */
export const SECRETS = {
  misPassword: 'rel-mis-Pw-5Kq2v',
  blazePassword: 'rel-blaze-Pw-8Zt1',
  /** Short on purpose: a JSON parser's error snippet (10 characters either side) could hold all of it. */
  shortPassword: 'hunt3r2x',
  clientSecret: TEST_CLIENT_SECRET,
  accessToken: 'ya29.rel-access-Tk-3Hq9w',
  refreshToken: '1//rel-refresh-Tk-7Lm2x',
  supervisorToken: 'rel-supervisor-Tk-4Nd8Wq',
} as const;

export const ALL_SECRETS: string[] = Object.values(SECRETS);

/** A token file in the original's shape holding the suite's access and refresh tokens. Its token_uri is a
 *  closed loopback port, so even a refresh attempt could not leave the machine. */
export function realTokenFile(handle: string) {
  return {
    token: SECRETS.accessToken,
    refresh_token: SECRETS.refreshToken,
    token_uri: 'http://127.0.0.1:9/token',
    client_id: `${handle}.apps.googleusercontent.com`,
    client_secret: SECRETS.clientSecret,
    scopes: ['https://www.googleapis.com/auth/spreadsheets'],
    expiry: '2099-01-01T00:00:00',
  };
}

/** A blaze config holding both passwords. */
export function blazeConfigWithSecrets(user: string) {
  return {
    mis_username: user,
    mis_password: SECRETS.misPassword,
    blaze_email: `${user}@blaze.example`,
    blaze_password: SECRETS.blazePassword,
    // a closed loopback port: an automation started by mistake never leaves the machine
    mis_url: 'http://127.0.0.1:9/daily-discount',
  };
}

// ——— evidence ———

export interface Exchange {
  what: string;
  status: number | null;
  headers: Record<string, string | string[] | undefined>;
  text: string;
}

/** Everything a scenario saw: responses (status, headers, body) and the output of the processes it ran. */
export class Evidence {
  readonly exchanges: Exchange[] = [];
  readonly #outputs = new Map<string, () => string>();
  /** Extra texts (stderr of a process that refused to start, files a test read back). */
  readonly texts: { what: string; text: string }[] = [];
  /** Secrets planted by a scenario beyond `ALL_SECRETS` (tokens a fake Google issued). */
  readonly extraSecrets = new Set<string>();

  record(exchange: Exchange): void {
    this.exchanges.push(exchange);
  }

  /** `output()` is read at the end, so it holds every line the process ever wrote. */
  watch(name: string, output: () => string): void {
    this.#outputs.set(name, output);
  }

  note(what: string, text: string): void {
    this.texts.push({ what, text });
  }

  /** No secret in any response or log line; no response allows every origin. */
  assertClean(secrets: Iterable<string> = ALL_SECRETS): void {
    const list = [...new Set([...secrets, ...this.extraSecrets])].filter((s) => s.length >= 6);
    assert.ok(this.exchanges.length > 0, 'no responses were recorded');
    for (const ex of this.exchanges) {
      const acao = ex.headers['access-control-allow-origin'];
      assert.ok(acao === undefined || (acao !== '*' && !(Array.isArray(acao) && acao.includes('*'))), `${ex.what} answered Access-Control-Allow-Origin: ${String(acao)}`);
      const headerText = Object.entries(ex.headers)
        .map(([k, v]) => `${k}: ${Array.isArray(v) ? v.join(', ') : (v ?? '')}`)
        .join('\n');
      for (const secret of list) {
        assert.ok(!ex.text.includes(secret), `${ex.what} → ${ex.status}: the body holds the secret "${secret.slice(0, 5)}…":\n${excerpt(ex.text, secret)}`);
        assert.ok(!headerText.includes(secret), `${ex.what} → ${ex.status}: a header holds the secret "${secret.slice(0, 5)}…"`);
      }
    }
    const texts = [...[...this.#outputs].map(([what, output]) => ({ what, text: output() })), ...this.texts];
    for (const { what, text } of texts) {
      for (const secret of list) {
        assert.ok(!text.includes(secret), `${what} holds the secret "${secret.slice(0, 5)}…": ${excerpt(text, secret)}`);
      }
    }
  }
}

function excerpt(text: string, needle: string): string {
  const at = text.indexOf(needle);
  return `…${text.slice(Math.max(0, at - 300), at + needle.length + 60)}…`;
}

// ——— HTTP ———

export interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  text: string;
  body: any;
}

export interface SendOptions {
  headers?: Record<string, string>;
  /** A Buffer or string is sent as it is; anything else as JSON (with a JSON content type unless given). */
  body?: unknown;
  timeoutMs?: number;
  agent?: http.Agent | false;
}

/** One request to 127.0.0.1:`port`, path sent as given, recorded in `ev`. */
export function send(ev: Evidence | null, port: number, method: string, target: string, options: SendOptions = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { ...options.headers };
    let payload: Buffer | undefined;
    if (options.body !== undefined) {
      if (Buffer.isBuffer(options.body)) payload = options.body;
      else if (typeof options.body === 'string') payload = Buffer.from(options.body);
      else {
        payload = Buffer.from(JSON.stringify(options.body));
        if (!Object.keys(headers).some((k) => k.toLowerCase() === 'content-type')) headers['content-type'] = 'application/json';
      }
      if (!Object.keys(headers).some((k) => k.toLowerCase() === 'content-length')) headers['content-length'] = String(payload.length);
    }
    const timeoutMs = options.timeoutMs ?? 30_000;
    const req = http.request({ host: '127.0.0.1', port, method, path: target, headers, agent: options.agent ?? false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        clearTimeout(timer);
        const text = Buffer.concat(chunks).toString('utf8');
        let body: any = text;
        try {
          body = JSON.parse(text);
        } catch {
          // not JSON
        }
        ev?.record({ what: `${method} ${target.slice(0, 200)}`, status: res.statusCode ?? 0, headers: res.headers, text });
        resolve({ status: res.statusCode ?? 0, headers: res.headers, text, body });
      });
      res.on('error', (error) => {
        clearTimeout(timer);
        reject(error);
      });
    });
    const timer = setTimeout(() => req.destroy(new Error(`${method} ${target.slice(0, 200)} got no answer within ${timeoutMs} ms`)), timeoutMs);
    req.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    req.end(payload);
  });
}

/** A small client bound to one port and one evidence log. */
export function client(ev: Evidence, port: number, defaults: { headers?: Record<string, string> } = {}) {
  const withDefaults = (o: SendOptions = {}): SendOptions => ({ ...o, headers: { ...defaults.headers, ...o.headers } });
  return {
    port,
    send: (method: string, target: string, o?: SendOptions) => send(ev, port, method, target, withDefaults(o)),
    get: (target: string, headers?: Record<string, string>) => send(ev, port, 'GET', target, withDefaults({ headers })),
    post: (target: string, body?: unknown, headers?: Record<string, string>) => send(ev, port, 'POST', target, withDefaults({ body, headers })),
    put: (target: string, body?: unknown, headers?: Record<string, string>) => send(ev, port, 'PUT', target, withDefaults({ body, headers })),
    delete: (target: string, headers?: Record<string, string>) => send(ev, port, 'DELETE', target, withDefaults({ headers })),
  };
}
export type Client = ReturnType<typeof client>;

export interface RawResponse {
  /** null when the server closed without an HTTP answer. */
  status: number | null;
  headers: Record<string, string>;
  body: string;
  /** Every byte received, as text. */
  raw: string;
  /** A socket error seen after (or instead of) the answer. */
  error: string | null;
  /** Request bytes written before the answer came (or everything). */
  sent: number;
  /** Monotonic ms from connecting to the first answer byte (null: none). */
  answeredAfterMs: number | null;
}

/** Writes `data` on a fresh `net` socket (bytes exactly as given, in order, respecting back-pressure) and
 *  reads until the server closes or a complete answer is in. Writing stops as soon as an answer arrives. */
export function rawExchange(port: number, data: string | Buffer | (string | Buffer)[], options: { timeoutMs?: number; ev?: Evidence; what?: string } = {}): Promise<RawResponse> {
  const parts = (Array.isArray(data) ? data : [data]).map((d) => (typeof d === 'string' ? Buffer.from(d, 'latin1') : d));
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    const chunks: Buffer[] = [];
    let error: string | null = null;
    let settled = false;
    let sent = 0;
    const started = performance.now();
    let answeredAfterMs: number | null = null;
    const finish = () => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      const response = { ...parseResponse(Buffer.concat(chunks), error), sent, answeredAfterMs };
      options.ev?.record({ what: options.what ?? `raw ${String(parts[0]?.subarray(0, 120).toString('latin1')).split('\r\n')[0]}`, status: response.status, headers: response.headers, text: response.raw });
      resolve(response);
    };
    const timer = setTimeout(() => {
      error ??= `no complete answer within ${options.timeoutMs ?? 10_000} ms`;
      finish();
    }, options.timeoutMs ?? 10_000);
    socket.on('data', (c: Buffer) => {
      answeredAfterMs ??= performance.now() - started;
      chunks.push(c);
      if (isComplete(Buffer.concat(chunks))) finish();
    });
    socket.on('error', (e: NodeJS.ErrnoException) => {
      error ??= e.code ?? e.message;
    });
    socket.on('close', finish);
    socket.on('connect', async () => {
      for (const part of parts) {
        for (let offset = 0; offset < part.length && chunks.length === 0 && !socket.destroyed; offset += 64 * 1024) {
          const piece = part.subarray(offset, offset + 64 * 1024);
          sent += piece.length;
          if (!socket.write(piece)) {
            await waitWritable(socket);
          }
        }
      }
    });
  });
}

/** Resolves on `drain`, `data` (an answer: stop writing), `close` or `error`, whichever comes first. */
function waitWritable(socket: net.Socket): Promise<void> {
  return new Promise((resolve) => {
    const events = ['drain', 'data', 'close', 'error'] as const;
    const done = () => {
      for (const e of events) socket.off(e, done);
      resolve();
    };
    if (socket.destroyed) return resolve();
    for (const e of events) socket.once(e, done);
  });
}

function headerEnd(buffer: Buffer): number {
  return buffer.indexOf('\r\n\r\n');
}

function isComplete(buffer: Buffer): boolean {
  const end = headerEnd(buffer);
  if (end === -1) return false;
  const head = buffer.subarray(0, end).toString('latin1');
  const length = /\r\ncontent-length:\s*(\d+)/i.exec(head)?.[1];
  if (length === undefined) return false; // read until close
  return buffer.length - (end + 4) >= Number(length);
}

function parseResponse(buffer: Buffer, error: string | null): Omit<RawResponse, 'sent' | 'answeredAfterMs'> {
  const raw = buffer.toString('utf8');
  const end = headerEnd(buffer);
  const head = (end === -1 ? buffer : buffer.subarray(0, end)).toString('latin1');
  const status = /^HTTP\/1\.[01] (\d{3})/.exec(head)?.[1];
  const headers: Record<string, string> = {};
  for (const line of head.split('\r\n').slice(1)) {
    const colon = line.indexOf(':');
    if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  return { status: status ? Number(status) : null, headers, body: end === -1 ? '' : buffer.subarray(end + 4).toString('utf8'), raw, error };
}

/** The JSON body of a raw answer, or null. */
export function jsonOf(response: RawResponse): any {
  try {
    return JSON.parse(response.body);
  } catch {
    return null;
  }
}

// ——— /proc ———

/** Resident memory in bytes (VmRSS), or null when the process is gone. */
export function rssOf(pid: number): number | null {
  try {
    const kb = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
    return kb ? Number(kb) * 1024 : null;
  } catch {
    return null;
  }
}

export function fdCount(pid: number): number {
  return fs.readdirSync(`/proc/${pid}/fd`).length;
}

/** The supervisor's heap in use, from its own Prometheus metrics. */
export async function heapUsed(port: number): Promise<number> {
  const reply = await send(null, port, 'GET', '/metrics');
  assert.equal(reply.status, 200);
  const value = parseMetrics(reply.text).get('nodejs_heap_size_used_bytes');
  assert.ok(value && value > 0, 'nodejs_heap_size_used_bytes missing from /metrics');
  return value;
}

export interface Listening {
  address: string;
  port: number;
}

/** The TCP sockets `pid` listens on, with their bound address (from /proc/net/tcp{,6} and /proc/<pid>/fd). */
export function listeningSockets(pid: number): Listening[] {
  const inodes = socketInodes(pid);
  const out: Listening[] = [];
  for (const [file, v6] of [['/proc/net/tcp', false], ['/proc/net/tcp6', true]] as const) {
    let text = '';
    try {
      text = fs.readFileSync(file, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      if (f.length < 10 || f[3] !== '0A' || !inodes.has(f[9]!)) continue; // 0A = LISTEN
      const [hexAddress, hexPort] = f[1]!.split(':') as [string, string];
      out.push({ address: v6 ? decodeV6(hexAddress) : decodeV4(hexAddress), port: parseInt(hexPort, 16) });
    }
  }
  return out;
}

/** The Unix socket paths `pid` listens on (from /proc/net/unix: flag __SO_ACCEPTCON). */
export function listeningUnixSockets(pid: number): string[] {
  const inodes = socketInodes(pid);
  const out: string[] = [];
  for (const line of fs.readFileSync('/proc/net/unix', 'utf8').split('\n').slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f.length < 8 || !inodes.has(f[6]!)) continue;
    if ((parseInt(f[3]!, 16) & 0x10000) !== 0) out.push(f[7]!);
  }
  return out;
}

function decodeV4(hex: string): string {
  const n = parseInt(hex, 16);
  return [n & 255, (n >>> 8) & 255, (n >>> 16) & 255, (n >>> 24) & 255].join('.');
}

function decodeV6(hex: string): string {
  // four little-endian 32-bit words
  const bytes: number[] = [];
  for (let w = 0; w < 4; w++) {
    const word = hex.slice(w * 8, w * 8 + 8);
    for (let b = 3; b >= 0; b--) bytes.push(parseInt(word.slice(b * 2, b * 2 + 2), 16));
  }
  if (bytes.slice(0, 10).every((b) => b === 0) && bytes[10] === 255 && bytes[11] === 255) return `::ffff:${bytes.slice(12).join('.')}`;
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(((bytes[i]! << 8) | bytes[i + 1]!).toString(16));
  return groups.join(':').replace(/(^|:)0(:0)+(:|$)/, '::');
}

/** A number that must stop moving: sampled every `everyMs` until two readings in a row agree (or the
 *  time is up, then the last reading). */
export async function settled(read: () => number | Promise<number>, options: { everyMs?: number; timeoutMs?: number } = {}): Promise<number> {
  const deadline = performance.now() + (options.timeoutMs ?? 10_000);
  let last = await read();
  for (;;) {
    await sleep(options.everyMs ?? 250);
    const now = await read();
    if (now === last || performance.now() > deadline) return now;
    last = now;
  }
}

/** Runs a full garbage collection in a process started with `NODE_OPTIONS=--inspect-port=0`: SIGUSR1 opens
 *  its inspector on a free loopback port (read from its output), then `HeapProfiler.collectGarbage`. A heap
 *  measured right after is the live set, so growth means a leak rather than garbage not yet collected. */
export async function collectGarbage(pid: number, output: () => string): Promise<void> {
  const find = () => /Debugger listening on (ws:\/\/127\.0\.0\.1:\d+\/[\w-]+)/.exec(output())?.[1];
  if (!find()) process.kill(pid, 'SIGUSR1');
  const url = await waitFor('the inspector to listen', find, 5000);
  const ws = new WebSocket(url);
  try {
    await new Promise<void>((resolve, reject) => {
      ws.onopen = () => resolve();
      ws.onerror = () => reject(new Error(`cannot connect to the inspector at ${url}`));
    });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('HeapProfiler.collectGarbage got no answer')), 10_000);
      ws.onmessage = (event) => {
        if (JSON.parse(String(event.data)).id === 1) {
          clearTimeout(timer);
          resolve();
        }
      };
      ws.send(JSON.stringify({ id: 1, method: 'HeapProfiler.collectGarbage' }));
    });
  } finally {
    ws.close();
  }
  // the inspector connection is gone before anything is counted: its close event, not a fixed pause
  if (ws.readyState !== WebSocket.CLOSED) {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`the inspector connection to ${url} did not close within 5 s`)), 5000);
      ws.addEventListener('close', () => {
        clearTimeout(timer);
        resolve();
      }, { once: true });
    });
  }
}

export interface Footprint {
  rss: number;
  heap: number;
  fds: number;
  sockets: number;
}

/** The supervisor's footprint: each value the lowest of `samples` readings taken `everyMs` apart (each after
 *  `gc`, when given), so a collection that has not happened yet does not count as growth. */
export async function footprint(pid: number, port: number, samples = 6, everyMs = 300, gc?: () => Promise<void>): Promise<Footprint> {
  const out: Footprint = { rss: Infinity, heap: Infinity, fds: Infinity, sockets: Infinity };
  for (let i = 0; i < samples; i++) {
    if (i > 0) await sleep(everyMs);
    await gc?.();
    out.heap = Math.min(out.heap, await heapUsed(port));
    out.rss = Math.min(out.rss, rssOf(pid) ?? Infinity);
    out.fds = Math.min(out.fds, fdCount(pid));
    out.sockets = Math.min(out.sockets, socketCount(pid));
  }
  return out;
}

export function describeFootprint(f: Footprint): string {
  return `rss ${(f.rss / 2 ** 20).toFixed(1)} MiB, heap ${(f.heap / 2 ** 20).toFixed(1)} MiB, ${f.fds} fds, ${f.sockets} sockets`;
}

// ——— load ———

export interface RequestSpec {
  method: string;
  path: string;
  /** The profile the request is for (null: the current one through /api, or the supervisor itself). */
  handle: string | null;
  body?: unknown;
  /** Called with the answer (e.g. to remember an acknowledged write). */
  onReply?(reply: Reply): void;
}

export interface Sample {
  spec: RequestSpec;
  start: number;
  end: number;
  status: number | null;
  error: string | null;
  body: any;
}

/** `concurrency` client loops, each sending `next()` one after another over a keep-alive agent until
 *  `running()` is false; every request is recorded with its start and end (monotonic ms). */
export async function runClients(port: number, options: { concurrency: number; running: () => boolean; next: (loop: number) => RequestSpec; ev?: Evidence; maxRequests?: number }): Promise<Sample[]> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: options.concurrency });
  const samples: Sample[] = [];
  const max = options.maxRequests ?? 1_000_000;
  try {
    await Promise.all(
      Array.from({ length: options.concurrency }, async (_, loop) => {
        while (options.running() && samples.length < max) {
          const spec = options.next(loop);
          const start = performance.now();
          try {
            const reply = await send(null, port, spec.method, spec.path, { body: spec.body, agent, timeoutMs: 30_000 });
            samples.push({ spec, start, end: performance.now(), status: reply.status, error: null, body: reply.body });
            if (options.ev && (reply.status >= 400 || samples.length % 50 === 0)) {
              options.ev.record({ what: `${spec.method} ${spec.path}`, status: reply.status, headers: reply.headers, text: reply.text });
            }
            spec.onReply?.(reply);
          } catch (error) {
            samples.push({ spec, start, end: performance.now(), status: null, error: (error as Error).message, body: null });
            await sleep(20); // a refused connection fails at once: no hot loop
          }
        }
      }),
    );
  } finally {
    agent.destroy();
  }
  return samples;
}

/** Short text of the failed samples, for assertion messages. */
export function describeSamples(samples: Sample[], limit = 10): string {
  return samples
    .slice(0, limit)
    .map((s) => `${s.spec.method} ${s.spec.path} → ${s.status ?? s.error} ${typeof s.body === 'object' && s.body ? JSON.stringify(s.body).slice(0, 300) : ''}`)
    .join('\n');
}

// ——— an unprivileged supervisor ———

export interface UnprivilegedSupervisor {
  pid: number;
  port: number;
  child: ChildProcess;
  output(): string;
  lines(): Record<string, unknown>[];
  waitForLine(predicate: (line: Record<string, unknown>) => boolean, timeoutMs?: number): Promise<Record<string, unknown>>;
  /** Worker pids seen in the supervisor's log lines. */
  workerPids(): Set<number>;
  exited(): Promise<{ code: number | null; signal: string | null }>;
  cleanup(): Promise<void>;
}

/** Runs the supervisor (compiled) as `uid`:`gid` (e.g. 65534 nobody) with a minimal environment: HOME and the
 *  compile cache in `home` (which that user must own). */
export function startSupervisorAs(uid: number, gid: number, env: Record<string, string>, home: string): UnprivilegedSupervisor {
  const child = spawn(process.execPath, entryArgs('supervisor/main.ts'), {
    cwd: PROJECT_ROOT,
    uid,
    gid,
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: home, NODE_COMPILE_CACHE: path.join(home, 'compile-cache'), LOG_LEVEL: 'debug', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  let text = '';
  child.stdout!.setEncoding('utf8').on('data', (c: string) => (text += c));
  child.stderr!.setEncoding('utf8').on('data', (c: string) => (text += c));
  const exit = once(child, 'exit').then(([code, signal]) => ({ code: code as number | null, signal: signal as string | null }));
  const lines = () =>
    text
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .flatMap((l) => {
        try {
          return [JSON.parse(l) as Record<string, unknown>];
        } catch {
          return [];
        }
      });
  const workerPids = () => new Set(lines().flatMap((l) => ('handle' in l && typeof l.pid === 'number' && l.pid !== child.pid ? [l.pid] : [])));
  return {
    pid: child.pid!,
    port: Number(env.PORT),
    child,
    output: () => text,
    lines,
    waitForLine: (predicate, timeoutMs = 15_000) =>
      waitFor('a supervisor log line', () => lines().find(predicate), timeoutMs).catch((error: Error) => {
        error.message += `\noutput:\n${text.slice(-4000)}`;
        throw error;
      }),
    workerPids,
    exited: () => exit,
    async cleanup() {
      const pids = workerPids();
      for (const target of [-child.pid!, child.pid!]) {
        try {
          process.kill(target, 'SIGKILL');
        } catch {
          // gone
        }
      }
      if (child.exitCode === null && child.signalCode === null) await exit;
      for (const pid of pids) {
        if (!isWorkerProcess(pid)) continue;
        for (const target of [-pid, pid]) {
          try {
            process.kill(target, 'SIGKILL');
          } catch {
            // gone
          }
        }
      }
      await waitFor('the unprivileged workers to be gone', () => [...pids].every((pid) => !isWorkerProcess(pid)), 5000).catch(() => {});
    },
  };
}

/** Files under `dir` with their bytes (base64) and mode, for before/after comparisons. */
export function snapshotTree(dir: string): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (d: string) => {
    for (const entry of fs.readdirSync(d, { withFileTypes: true })) {
      const full = path.join(d, entry.name);
      const rel = path.relative(dir, full);
      if (entry.isDirectory()) {
        out.set(`${rel}/`, `dir ${(fs.statSync(full).mode & 0o777).toString(8)}`);
        walk(full);
      } else if (entry.isFile()) {
        const st = fs.statSync(full);
        out.set(rel, `${(st.mode & 0o777).toString(8)} ${st.mtimeMs} ${fs.readFileSync(full).toString('base64')}`);
      } else out.set(rel, 'other');
    }
  };
  walk(dir);
  return out;
}

/** Entries that differ between two snapshots (added, removed or changed). */
export function diffTrees(before: Map<string, string>, after: Map<string, string>): string[] {
  const out: string[] = [];
  for (const [k, v] of before) if (after.get(k) !== v) out.push(after.has(k) ? `changed ${k}` : `removed ${k}`);
  for (const k of after.keys()) if (!before.has(k)) out.push(`added ${k}`);
  return out;
}

/** A random element (Math.random is fine: the scenarios are about timing, not reproducible data). */
export function pick<T>(items: readonly T[]): T {
  return items[Math.floor(Math.random() * items.length)]!;
}
