// What a process holds, read from /proc (Linux only): resident memory, open fds and sockets, the addresses it
// listens on; the supervisor's heap from its own metrics, after a full garbage collection when asked; and a
// footprint of all four for before/after comparisons.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { request } from './http.ts';
import { parseMetrics } from './ops.ts';
import { waitFor } from './processes.ts';

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

/** The supervisor's heap in use, from its own Prometheus metrics. */
export async function heapUsed(port: number): Promise<number> {
  const reply = await request(port, 'GET', '/metrics');
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
