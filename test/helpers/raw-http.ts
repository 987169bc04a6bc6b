// Raw HTTP over a `net` socket: bytes written exactly as given (request lines, headers and bodies no HTTP
// client would send), the answer read back as it came. For ordinary requests use `request` (http.ts).
import net from 'node:net';
import type { Recorder } from './http.ts';

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
  /** Monotonic ms from connecting to the end of the exchange (a complete answer, a close, the timeout). */
  ms: number;
  /** Neither a complete answer nor a close within `timeoutMs`. */
  timedOut: boolean;
}

export interface RawOptions {
  /** Default 10 s. */
  timeoutMs?: number;
  /** Writes the answer down. */
  record?: Recorder;
  /** How the answer is named there (default: the request line). */
  what?: string;
  /** The request's method, when the bytes do not start with it (an answer to HEAD has no body); default the
   *  first word of the bytes. */
  method?: string;
}

/** Writes `data` on a fresh `net` socket (bytes exactly as given, in order, respecting back-pressure) and
 *  reads until the server closes or a complete answer is in. Writing stops as soon as an answer arrives. */
export function rawExchange(port: number, data: string | Buffer | (string | Buffer)[], options: RawOptions = {}): Promise<RawResponse> {
  const parts = (Array.isArray(data) ? data : [data]).map((d) => (typeof d === 'string' ? Buffer.from(d, 'latin1') : d));
  const method = options.method ?? /^[^ \r\n]*/.exec(parts[0]?.subarray(0, 64).toString('latin1') ?? '')![0];
  const timeoutMs = options.timeoutMs ?? 10_000;
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    const chunks: Buffer[] = [];
    let error: string | null = null;
    let settled = false;
    let sent = 0;
    const started = performance.now();
    let answeredAfterMs: number | null = null;
    let timedOut = false;
    const finish = () => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      const response = { ...parseResponse(Buffer.concat(chunks), error), sent, answeredAfterMs, ms: performance.now() - started, timedOut };
      options.record?.record({ what: options.what ?? `raw ${String(parts[0]?.subarray(0, 120).toString('latin1')).split('\r\n')[0]}`, status: response.status, headers: response.headers, text: response.raw });
      resolve(response);
    };
    const timer = setTimeout(() => {
      timedOut = true;
      error ??= `no complete answer within ${timeoutMs} ms`;
      finish();
    }, timeoutMs);
    socket.on('data', (c: Buffer) => {
      answeredAfterMs ??= performance.now() - started;
      chunks.push(c);
      if (isComplete(Buffer.concat(chunks), method)) finish();
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

/** A whole answer is in: its headers, and its body by Content-Length or chunked encoding (none for HEAD, 204
 *  and 304); an interim 1xx answer is followed by the real one. Otherwise it ends when the server closes. */
function isComplete(buffer: Buffer, method: string): boolean {
  for (let start = 0; ; ) {
    const end = buffer.indexOf('\r\n\r\n', start);
    if (end === -1) return false;
    const head = buffer.subarray(start, end).toString('latin1');
    if (/^HTTP\/1\.[01] 1\d\d/.test(head)) {
      start = end + 4;
      continue;
    }
    if (method === 'HEAD' || /^HTTP\/1\.[01] (204|304)/.test(head)) return true;
    const length = /\r\ncontent-length:\s*(\d+)/i.exec(head)?.[1];
    if (length !== undefined) return buffer.length - (end + 4) >= Number(length);
    const body = buffer.subarray(end + 4);
    if (/\r\ntransfer-encoding:\s*chunked/i.test(head)) return body.indexOf('0\r\n\r\n') === 0 || body.includes('\r\n0\r\n\r\n');
    return false; // read until close
  }
}

function parseResponse(buffer: Buffer, error: string | null): Pick<RawResponse, 'status' | 'headers' | 'body' | 'raw' | 'error'> {
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
