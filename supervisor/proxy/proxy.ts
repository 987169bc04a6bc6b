import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Dispatcher } from 'undici';
import { sendError, type ErrorCode } from '../../shared/http/api-error.ts';
import type { Logger } from '../../shared/runtime/logger.ts';
import type { Admission, Lease } from './admission.ts';
import { forwardedHeaders, responseHeaders } from './forwarded-headers.ts';
import { Upstreams } from './upstreams.ts';

export interface ProxyObserver {
  /** Called once per proxied request with the status sent to the client (or the error status). */
  onResult?(handle: string, status: number, seconds: number): void;
  onHeld?(delta: 1 | -1): void;
}

/** How the proxy answers what it could not forward (JSON by default; pages for people: landing-pages.ts). */
export type ProxyErrorAnswerer = (
  req: IncomingMessage,
  res: ServerResponse,
  answer: { status: number; code: ErrorCode; message: string; extra: Record<string, unknown> },
  headers?: Record<string, string>,
) => void;

const jsonAnswer: ProxyErrorAnswerer = (_req, res, a, headers) => sendError(res, a, headers);

/** The worker's process is gone or going: nothing answered on that connection. */
const REFUSED = new Set(['ECONNREFUSED', 'ENOENT']);
/** The connection broke before an answer: the process died under the request, or a kept-alive socket was
 *  stale. */
const RESET = new Set(['UND_ERR_SOCKET', 'ECONNRESET', 'EPIPE']);
/** Safe to send twice (RFC 9110 §9.2.2): replayed when the worker died under them without answering. */
const IDEMPOTENT = new Set(['GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE']);
/** A body up to this size is read before the request goes out, so that it can be sent again: a PUT or
 *  DELETE the worker never answered, or any request (POST too) that a dead worker's port refused and that
 *  therefore never reached a process. Larger or chunked bodies (CSV uploads) are streamed. */
const MAX_REPLAY_BODY = 256 * 1024;
/** A reset on a stale keep-alive socket, then a refusal from the process dying under it: two replays. */
const MAX_REPLAYS = 2;

/** One request to forward. */
export interface ForwardOptions {
  req: IncomingMessage;
  res: ServerResponse;
  /** The worker's admission: a lease from it, at once or held. */
  worker: Admission;
  /** What the worker sees: the path and query, the route prefix stripped. */
  path: string;
  /** The route prefix (`/p/<h>`), sent as `X-Forwarded-Prefix`; empty for `/api/…`. */
  prefix: string;
  /** Headers the supervisor adds: who is asking. */
  headers?: string[];
  /** A JSON body the supervisor read and decided on: sent instead of the client's. */
  json?: Buffer;
}

/** Forwards HTTP requests to workers over undici (a keep-alive pool per worker process, on its Unix
 *  socket): asks the worker's admission for a lease — held while the worker is not ready — streams both
 *  ways with backpressure and nothing buffered, replays what a dead worker never answered, and maps every
 *  upstream failure to a JSON answer (502, 503, 504). A proxy error never throws. A request for a ready
 *  worker goes out synchronously, with no promise in between (docs/architecture.md, "The path of one
 *  proxied request"). */
export class WorkerProxy {
  readonly #upstreams: Upstreams;
  /** The event streams it relays, open now. */
  readonly #streams = new Set<ServerResponse>();
  readonly #log: Logger;
  readonly #holdTimeoutMs: number;
  readonly #upstreamTimeoutMs: number;
  readonly #observer: ProxyObserver;
  readonly #answerError: ProxyErrorAnswerer;
  readonly #proxyHeader: string;

  /** `proxyHeader`: the sign-in proxy's header (AUTH_PROXY_HEADER), never passed on to a worker. */
  constructor(options: { log: Logger; holdTimeoutMs: number; upstreamTimeoutMs: number; proxyHeader: string; observer?: ProxyObserver; answerError?: ProxyErrorAnswerer }) {
    this.#answerError = options.answerError ?? jsonAnswer;
    this.#proxyHeader = options.proxyHeader.toLowerCase();
    this.#log = options.log;
    this.#holdTimeoutMs = options.holdTimeoutMs;
    this.#upstreamTimeoutMs = options.upstreamTimeoutMs;
    this.#observer = options.observer ?? {};
    this.#upstreams = new Upstreams({ headersTimeoutMs: options.upstreamTimeoutMs });
  }

  forward(options: ForwardOptions): void {
    const { req, res, worker, path, prefix, json } = options;
    const onResult = this.#observer.onResult;
    if (onResult) {
      const started = performance.now();
      res.once('close', () => onResult(worker.name, res.headersSent ? res.statusCode : 499, (performance.now() - started) / 1000));
    }
    let headers = forwardedHeaders(req, prefix, this.#proxyHeader);
    if (options.headers) headers.push(...options.headers);
    if (json) {
      // The body the supervisor decided on goes out instead of the client's bytes, framed anew.
      headers = withoutFraming(headers);
      headers.push('content-type', 'application/json', 'content-length', String(json.length));
    }
    const request: Forwarded = { req, res, worker, path, headers, body: json };
    if (json) {
      this.#start(request);
      return;
    }
    if (hasSmallBody(req)) {
      void readBody(req).then((body) => {
        if (body === null || res.destroyed) return; // the client went away
        request.body = body;
        this.#start(request);
      });
      return;
    }
    if (hasBody(req)) request.body = req;
    this.#start(request);
  }

  /** Ends every event stream it relays now (the pages reconnect by themselves): a supervisor that hands
   *  its workers to the next one does not wait for streams that never end. */
  endStreams(): void {
    for (const res of this.#streams) res.destroy();
    this.#streams.clear();
  }

  /** Closes the connections to every worker. */
  close(): Promise<void> {
    return this.#upstreams.close();
  }

  #start(request: Forwarded): void {
    const lease = request.worker.tryLease();
    if (lease) this.#dispatch(request, lease, 0);
    else void this.#hold(request, 0);
  }

  #dispatch(request: Forwarded, lease: Lease, attempt: number): void {
    // A replay goes out on a connection of its own, never a pooled one: when a worker is killed, every pooled
    // socket to it is dead until each one's close has been seen, so a replay on the pool could meet another
    // dead socket and turn a read the worker never saw into a 502.
    const single = attempt > 0 ? this.#upstreams.single(lease.target) : null;
    const dispatcher: Dispatcher = single ?? this.#upstreams.pool(request.worker.name, lease.target);
    const handler = new ResponseRelay(request, lease, this.#streams, (error) => {
      if (single) void single.close().catch(() => {});
      if (error) this.#failed(request, lease, attempt, error);
    });
    request.res.once('close', () => {
      handler.clientGone();
      lease.release();
    });
    const { req, path, headers, body } = request;
    dispatcher.dispatch({ method: req.method ?? 'GET', path, headers, body: body ?? null }, handler);
  }

  /** Holds the request until the worker is ready (then dispatches it), or answers 503 when it will not be,
   *  or drops it when the client goes away meanwhile. */
  async #hold(request: Forwarded, attempt: number, refusedBy?: number): Promise<void> {
    const { res, worker } = request;
    const abort = new AbortController();
    const onClose = () => abort.abort();
    res.once('close', onClose);
    this.#observer.onHeld?.(1);
    const result = await worker.acquire(this.#holdTimeoutMs, abort.signal, refusedBy);
    this.#observer.onHeld?.(-1);
    res.off('close', onClose);
    if (result.ok) {
      if (res.destroyed) result.release();
      else this.#dispatch(request, result, attempt);
      return;
    }
    if (!abort.signal.aborted) {
      this.#answerError(request.req, res, result, { 'retry-after': String(result.retryAfterSeconds) });
    }
  }

  /** The upstream request failed before its answer started (or the client left). */
  #failed(request: Forwarded, lease: Lease, attempt: number, error: Error): void {
    const { req, res, worker } = request;
    if (res.destroyed) return; // the client went away: nothing to answer
    if (res.headersSent) {
      res.destroy(); // cut mid-answer: the client sees a broken response, never a wrong one
      return;
    }
    const code = errorCode(error);
    if (code === 'UND_ERR_HEADERS_TIMEOUT') {
      this.#log.warn({ handle: worker.handle, timeout_ms: this.#upstreamTimeoutMs }, 'worker did not answer in time');
      this.#answerError(req, res, { status: 504, code: 'gateway_timeout', message: `the worker for ${worker.label} did not answer within ${this.#upstreamTimeoutMs} ms`, extra: { handle: worker.handle } });
      return;
    }
    const refused = REFUSED.has(code);
    if (attempt < MAX_REPLAYS && (refused || RESET.has(code)) && canReplay(request, refused)) {
      // The worker died or was replaced under this request before answering: replay it, held until the
      // worker is back, instead of failing a read the client could simply have retried. A refusal means
      // nothing listens any more: wait for the next process even while this one still looks ready (its exit
      // may not have been seen yet). A reset on a pooled socket may be a stale keep-alive socket: replay at
      // once, on a fresh connection; a fresh connection that fails too means the process is going: wait for
      // the next one, or the replays are spent on a process already dead.
      lease.release();
      void this.#hold(request, attempt + 1, refused || attempt > 0 ? lease.generation : undefined);
      return;
    }
    this.#log.warn({ handle: worker.handle, code, method: req.method }, 'worker connection failed');
    this.#answerError(req, res, { status: 502, code: 'bad_gateway', message: `the worker for ${worker.label} closed the connection (${code || error.message})`, extra: { handle: worker.handle } });
  }
}

interface Forwarded {
  req: IncomingMessage;
  res: ServerResponse;
  worker: Admission;
  path: string;
  headers: string[];
  /** Read ahead (replayable), the request itself (streamed), or none. */
  body: Buffer | IncomingMessage | undefined;
}

/** Relays one upstream response to the client as it arrives, pausing the worker when the client is slow. */
class ResponseRelay implements Dispatcher.DispatchHandler {
  readonly #res: ServerResponse;
  readonly #lease: Lease;
  readonly #done: (error: Error | null) => void;
  readonly #streams: Set<ServerResponse>;
  #controller: Dispatcher.DispatchController | null = null;
  #finished = false;

  constructor(request: Forwarded, lease: Lease, streams: Set<ServerResponse>, done: (error: Error | null) => void) {
    this.#res = request.res;
    this.#streams = streams;
    this.#lease = lease;
    this.#done = done;
  }

  /** The client closed its side: stop the upstream request unless the answer is complete. */
  clientGone(): void {
    if (!this.#finished) this.#controller?.abort(new ClientGoneError());
  }

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.#controller = controller;
    if (this.#res.destroyed) controller.abort(new ClientGoneError());
  }

  onResponseStart(controller: Dispatcher.DispatchController, statusCode: number, headers: Record<string, string | string[] | undefined>, statusMessage?: string): void {
    if (this.#res.destroyed) return;
    this.#res.writeHead(statusCode, statusMessage, responseHeaders(headers));
    // A stream (no length known: Server-Sent Events, a long export) gets its headers at once, not with its
    // first chunk; any other answer's headers leave with its body, in one write.
    if (headers['content-length'] === undefined) this.#res.flushHeaders();
    if (String(headers['content-type']).startsWith('text/event-stream')) {
      this.#lease.stream();
      const res = this.#res;
      this.#streams.add(res);
      res.once('close', () => this.#streams.delete(res));
    }
    this.#res.on('drain', () => controller.resume());
  }

  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    if (!this.#res.write(chunk)) controller.pause();
  }

  onResponseEnd(): void {
    this.#finished = true;
    this.#res.end();
    this.#done(null);
  }

  onResponseError(_controller: Dispatcher.DispatchController, error: Error): void {
    this.#finished = true;
    this.#done(error instanceof ClientGoneError ? null : error);
  }
}

class ClientGoneError extends Error {
  override name = 'ClientGoneError';
  constructor() {
    super('the client went away');
  }
}

function errorCode(error: Error): string {
  const own = (error as NodeJS.ErrnoException).code ?? '';
  const cause = ((error as { cause?: NodeJS.ErrnoException }).cause?.code ?? '') as string;
  // undici wraps what the socket said (a reset, a refused connection) in errors of its own.
  return own === 'UND_ERR_SOCKET' || own === 'UND_ERR_CONNECT' || !own ? cause || own : own;
}

/** Whether the request can go out again: its body (if any) was kept, and either it is idempotent or it
 *  never reached a process (the connection was refused). */
function canReplay(request: Forwarded, refused: boolean): boolean {
  const resendable = request.body === undefined || Buffer.isBuffer(request.body);
  return resendable && (IDEMPOTENT.has(request.req.method ?? '') || refused);
}

function hasBody(req: IncomingMessage): boolean {
  const length = req.headers['content-length'];
  return (length !== undefined && length !== '0') || req.headers['transfer-encoding'] !== undefined;
}

/** A declared body of at most `MAX_REPLAY_BODY` bytes (a chunked or larger one is streamed, not replayed). */
export function hasSmallBody(req: IncomingMessage): boolean {
  const length = req.headers['content-length'];
  return length !== undefined && /^\d+$/.test(length) && Number(length) > 0 && Number(length) <= MAX_REPLAY_BODY && !req.headers['transfer-encoding'];
}

/** The whole body, or null when the client goes away first. */
export function readBody(req: IncomingMessage): Promise<Buffer | null> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.once('end', () => resolve(Buffer.concat(chunks)));
    req.once('error', () => resolve(null));
    req.once('close', () => {
      if (!req.complete) resolve(null);
    });
  });
}

/** A header list without the body's framing and type (a new body gets its own). */
function withoutFraming(headers: string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < headers.length; i += 2) {
    const name = headers[i]!.toLowerCase();
    if (name !== 'content-length' && name !== 'content-type' && name !== 'transfer-encoding') out.push(headers[i]!, headers[i + 1]!);
  }
  return out;
}
