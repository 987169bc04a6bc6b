import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Socket } from 'node:net';
import { z } from 'zod';
import type { SupervisorMessage, WorkerMessage } from './ipc.ts';

/** The control channel between the supervisor and its workers (docs/architecture.md, "Workers outlive the
 *  supervisor"): newline-delimited JSON over the supervisor's Unix socket, which each worker dials and dials
 *  again whenever it closes, so that a supervisor started later finds every worker that outlived the last
 *  one. The handshake below never changes shape; what follows it is versioned by `PROTOCOL`. */
export const PROTOCOL = 1;

/** One frame at most this long: a worker's recent log lines (500 of at most 8 KiB) come in the handshake. */
export const MAX_FRAME_BYTES = 16 * 1024 * 1024;

/** The worker's first line: who it says it is. */
export const WorkerHello = z.object({
  type: z.literal('hello'),
  name: z.string().min(1).max(80),
  pid: z.number().int().positive(),
  protocol: z.number().int().positive(),
  /** The build it runs (the sources' fingerprint) and its settings': an adopted worker with others is older. */
  build: z.string().max(200),
  settings: z.string().max(200),
  nonce: z.string().min(16).max(200),
});
export type WorkerHello = z.infer<typeof WorkerHello>;

/** The supervisor's answer: it knows the worker's secret (proof over the worker's nonce), and its own nonce. */
export const SupervisorProof = z.object({ type: z.literal('proof'), proof: z.string().max(200), nonce: z.string().min(16).max(200) });

/** What a worker is doing, sent with its proof and whenever a supervisor (re)connects. */
export const WorkerState = z.object({
  /** Listening: its TCP port and Unix socket; null while it starts. */
  listening: z.object({ port: z.number().int().min(0).max(65535), socket: z.string().max(200).nullable() }).nullable(),
  /** When its process started (ms since the epoch). */
  started_at: z.number(),
  work: z.array(z.object({ name: z.string().max(80), limit_ms: z.number() })).max(20),
  restore: z.object({ state: z.enum(['restoring', 'done']), failed: z.array(z.string().max(200)).max(20) }).nullable(),
  browser_pid: z.number().int().positive().nullable(),
  /** Its recent log lines (JSON lines, already redacted), oldest first. */
  lines: z.array(z.string().max(16 * 1024)).max(1000),
});
export type WorkerState = z.infer<typeof WorkerState>;

export const WorkerProof = z.object({ type: z.literal('proof'), proof: z.string().max(200), state: WorkerState });

/** After the handshake, from the worker: what went over IPC before, and each log line as it is written. */
export type WorkerFrame = WorkerMessage | { type: 'log'; line: string };
/** After the handshake, from the supervisor: a stop, or its secret (a new supervisor has a new one). */
export type SupervisorFrame = Extract<SupervisorMessage, { type: 'shutdown' }> | { type: 'secret'; secret: string };

export function newNonce(): string {
  return randomBytes(24).toString('base64url');
}

/** Proof that `side` knows `secret`, bound to the other side's nonce. */
export function proofOf(secret: string, side: 'supervisor' | 'worker', nonce: string): string {
  return createHmac('sha256', secret).update(`${side}|${nonce}`).digest('base64url');
}

export function proofMatches(secret: string, side: 'supervisor' | 'worker', nonce: string, proof: string): boolean {
  const expected = Buffer.from(proofOf(secret, side, nonce));
  const given = Buffer.from(proof);
  return given.length === expected.length && timingSafeEqual(given, expected);
}

/** Reads and writes one JSON value a line on `socket`; a line too long or not JSON closes it. Values read
 *  before anyone asks for them wait in order. */
export class LineChannel {
  readonly socket: Socket;
  #buffer = '';
  readonly #queue: unknown[] = [];
  #handler: ((value: unknown) => void) | null = null;

  constructor(socket: Socket) {
    this.socket = socket;
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => this.#read(chunk));
    socket.on('error', () => {}); // a close follows
  }

  /** Every value read from now on (and those waiting) goes to `handler`. */
  onValue(handler: (value: unknown) => void): void {
    this.#handler = handler;
    while (this.#queue.length > 0 && this.#handler === handler) handler(this.#queue.shift());
  }

  /** The next value, or null when the channel closes or `timeoutMs` passes first. */
  next(timeoutMs: number): Promise<unknown> {
    if (this.#queue.length > 0) return Promise.resolve(this.#queue.shift());
    if (this.socket.destroyed) return Promise.resolve(null);
    return new Promise((resolve) => {
      const done = (value: unknown) => {
        clearTimeout(timer);
        this.socket.off('close', closed);
        this.#handler = null;
        resolve(value);
      };
      const closed = () => done(null);
      const timer = setTimeout(() => done(null), timeoutMs);
      this.socket.once('close', closed);
      this.#handler = done;
    });
  }

  send(value: unknown): void {
    if (!this.socket.destroyed && this.socket.writable) this.socket.write(`${JSON.stringify(value)}\n`);
  }

  close(): void {
    this.socket.end();
  }

  #read(chunk: string): void {
    this.#buffer += chunk;
    let newline: number;
    while ((newline = this.#buffer.indexOf('\n')) !== -1) {
      const line = this.#buffer.slice(0, newline);
      this.#buffer = this.#buffer.slice(newline + 1);
      let value: unknown;
      try {
        value = JSON.parse(line);
      } catch {
        this.socket.destroy();
        return;
      }
      if (this.#handler) this.#handler(value);
      else this.#queue.push(value);
    }
    if (this.#buffer.length > MAX_FRAME_BYTES) this.socket.destroy();
  }
}
