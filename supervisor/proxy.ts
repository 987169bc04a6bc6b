import type { Agent, IncomingMessage, ServerResponse, ClientRequest } from 'node:http';
import { Readable } from 'node:stream';
import { createProxyServer } from 'http-proxy-3';
import { http } from '../shared/cjs-imports.ts';
import { sendError } from '../shared/api-error.ts';
import type { Logger } from '../shared/logger.ts';
import type { Admission, Lease, UpstreamTarget } from './admission.ts';

export interface ProxyObserver {
  /** Called once per proxied request with the status sent to the client (or the error status). */
  onResult?(handle: string, status: number, seconds: number): void;
  onHeld?(delta: 1 | -1): void;
}

interface InFlight {
  proxyReq: ClientRequest | null;
  timer: NodeJS.Timeout | undefined;
  timedOut: boolean;
}

const RETRYABLE = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE']);
/** Safe to send twice (RFC 9110 §9.2.2): replayed when the worker died under them without answering. */
const IDEMPOTENT = new Set(['GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE']);
/** A body up to this size is read before the request goes out, so that it can be sent again: a PUT or
 *  DELETE the worker never answered, or any request (POST too) that a dead worker's port refused and that
 *  therefore never reached a process. Larger or chunked bodies (CSV uploads) are streamed. */
const MAX_REPLAY_BODY = 256 * 1024;
/** A reset on a stale keep-alive socket, then a refusal from the process dying under it: two replays. */
const MAX_REPLAYS = 2;
/** `Connection` is hop-by-hop: a client's `Connection: close` passed upstream made the worker close the
 *  pooled connection right after answering — while a body it refused (413) was still being sent, so the
 *  write failed (EPIPE) and the 413 became a 502. The supervisor keeps its worker connections alive. */
const UPSTREAM_HEADERS = { connection: 'keep-alive' };

/** Forwards a request to a worker (http-proxy-3 over a keep-alive agent per worker process), asking the
 *  worker's admission for a lease — held while the worker is not ready — and mapping every upstream failure
 *  to a JSON answer. A proxy error never throws. A request for a ready worker goes out synchronously, with
 *  no promise in between (the hot path; docs/architecture.md, "The path of one proxied request"). */
export class WorkerProxy {
  readonly #proxy = createProxyServer({ xfwd: true });
  /** One keep-alive agent per worker process: a new process gets a new agent, the old one's sockets go. */
  readonly #agents = new Map<string, { target: UpstreamTarget; agent: Agent }>();
  readonly #inFlight = new WeakMap<IncomingMessage, InFlight>();
  /** Bodies read ahead (see `MAX_REPLAY_BODY`), to be sent again on a replay. */
  readonly #bodies = new WeakMap<IncomingMessage, Buffer>();
  readonly #log: Logger;
  readonly #holdTimeoutMs: number;
  readonly #upstreamTimeoutMs: number;
  readonly #observer: ProxyObserver;

  constructor(options: { log: Logger; holdTimeoutMs: number; upstreamTimeoutMs: number; observer?: ProxyObserver }) {
    this.#log = options.log;
    this.#holdTimeoutMs = options.holdTimeoutMs;
    this.#upstreamTimeoutMs = options.upstreamTimeoutMs;
    this.#observer = options.observer ?? {};
    this.#proxy.on('proxyReq', (proxyReq: ClientRequest, req: IncomingMessage) => {
      const state = this.#inFlight.get(req);
      if (state) state.proxyReq = proxyReq;
    });
    this.#proxy.on('proxyRes', (_proxyRes: IncomingMessage, req: IncomingMessage) => {
      const state = this.#inFlight.get(req);
      if (state) clearTimeout(state.timer);
    });
    this.#proxy.on('error', () => {}); // every call passes its own callback; this only guards against a crash
    this.#proxy.on('econnreset', () => {}); // the client went away: nothing to answer
  }

  /** `path` is what the worker sees (prefix stripped); `prefix` becomes `X-Forwarded-Prefix`. */
  forward(req: IncomingMessage, res: ServerResponse, worker: Admission, path: string, prefix: string): void {
    const onResult = this.#observer.onResult;
    if (onResult) {
      const started = performance.now();
      res.once('close', () => onResult(worker.name, res.headersSent ? res.statusCode : 499, (performance.now() - started) / 1000));
    }
    req.url = path;
    if (prefix) req.headers['x-forwarded-prefix'] = prefix;
    else delete req.headers['x-forwarded-prefix'];
    if (hasSmallBody(req)) {
      void readBody(req).then((body) => {
        if (body === null || res.destroyed) return; // the client went away
        this.#bodies.set(req, body);
        this.#start(req, res, worker);
      });
      return;
    }
    this.#start(req, res, worker);
  }

  #start(req: IncomingMessage, res: ServerResponse, worker: Admission): void {
    const lease = worker.tryLease();
    if (lease) this.#dispatch(req, res, worker, lease, 0);
    else void this.#hold(req, res, worker, 0);
  }

  #dispatch(req: IncomingMessage, res: ServerResponse, worker: Admission, lease: Lease, attempt: number): void {
    const state: InFlight = { proxyReq: null, timer: undefined, timedOut: false };
    this.#inFlight.set(req, state);
    res.once('close', () => {
      clearTimeout(state.timer);
      lease.release();
    });
    state.timer = setTimeout(() => {
      state.timedOut = true;
      if (state.proxyReq) state.proxyReq.destroy();
      else this.#gatewayTimeout(res, worker);
    }, this.#upstreamTimeoutMs);

    // A replay goes out on a connection of its own, never a pooled one: when a worker is killed, every pooled
    // socket to it is dead until the supervisor has seen each one close, so a replay on the pool could hit
    // another dead socket (EPIPE) and turn a read the worker never saw into a 502.
    const agent = attempt > 0 ? false : this.#agentFor(worker.name, lease.target);
    const body = this.#bodies.get(req);
    const buffer = body ? Readable.from([body]) : undefined;
    this.#proxy.web(req, res, { target: lease.target, agent, xfwd: true, headers: UPSTREAM_HEADERS, ...(buffer ? { buffer } : {}) }, (error: Error) => {
      clearTimeout(state.timer);
      const code = (error as NodeJS.ErrnoException).code ?? '';
      if (state.timedOut) {
        this.#gatewayTimeout(res, worker);
        return;
      }
      if (attempt < MAX_REPLAYS && RETRYABLE.has(code) && canReplay(req, code, body !== undefined) && !res.headersSent && !res.destroyed) {
        // The worker died or was replaced under this request before answering: replay it, held until the
        // worker is back, instead of failing a read the client could simply have retried. A refusal means
        // nothing listens any more: wait for the next process even while this one still looks ready (its
        // exit may not have been seen yet). A reset on a pooled socket may be a stale keep-alive socket:
        // replay at once, on a fresh connection; a fresh connection that fails too means the process is
        // going: wait for the next one, or the replays are spent on a process already dead.
        lease.release();
        const notThisProcess = code === 'ECONNREFUSED' || attempt > 0;
        void this.#hold(req, res, worker, attempt + 1, notThisProcess ? lease.generation : undefined);
        return;
      }
      this.#log.warn({ handle: worker.handle, code, method: req.method }, 'worker connection failed');
      sendError(res, 502, 'bad_gateway', `the worker for ${worker.label} closed the connection (${code || error.message})`, { handle: worker.handle });
    });
  }

  /** Holds the request until the worker is ready (then dispatches it), or answers 503 when it will not be,
   *  or drops it when the client goes away meanwhile. */
  async #hold(req: IncomingMessage, res: ServerResponse, worker: Admission, attempt: number, refusedBy?: number): Promise<void> {
    const abort = new AbortController();
    const onClose = () => abort.abort();
    res.once('close', onClose);
    this.#observer.onHeld?.(1);
    const result = await worker.acquire(this.#holdTimeoutMs, abort.signal, refusedBy);
    this.#observer.onHeld?.(-1);
    res.off('close', onClose);
    if (result.ok) {
      if (res.destroyed) result.release();
      else this.#dispatch(req, res, worker, result, attempt);
      return;
    }
    if (!abort.signal.aborted) {
      sendError(res, result.status, result.code, result.message, result.extra, { 'retry-after': String(result.retryAfterSeconds) });
    }
  }

  #gatewayTimeout(res: ServerResponse, worker: Admission): void {
    this.#log.warn({ handle: worker.handle, timeout_ms: this.#upstreamTimeoutMs }, 'worker did not answer in time');
    sendError(res, 504, 'gateway_timeout', `the worker for ${worker.label} did not answer within ${this.#upstreamTimeoutMs} ms`, { handle: worker.handle });
  }

  #agentFor(name: string, target: UpstreamTarget): Agent {
    const entry = this.#agents.get(name);
    if (entry?.target === target) return entry.agent;
    entry?.agent.destroy();
    // Keep-alive to each worker: the hot path reuses sockets instead of a handshake per request; no Nagle
    // delay on the small writes of proxied requests.
    const agent = new http.Agent({ keepAlive: true, keepAliveMsecs: 1000, maxSockets: 256, maxFreeSockets: 64, timeout: 60_000, noDelay: true });
    this.#agents.set(name, { target, agent });
    return agent;
  }
}

/** Whether the request can go out again: its body (if any) was kept, and either it is idempotent or it
 *  never reached a process (the connection was refused). */
function canReplay(req: IncomingMessage, code: string, bodyRead: boolean): boolean {
  const length = req.headers['content-length'];
  const resendable = bodyRead || ((length === undefined || length === '0') && !req.headers['transfer-encoding']);
  return resendable && (IDEMPOTENT.has(req.method ?? '') || code === 'ECONNREFUSED');
}

/** A declared body of at most `MAX_REPLAY_BODY` bytes (a chunked or larger one is streamed, not replayed). */
function hasSmallBody(req: IncomingMessage): boolean {
  const length = req.headers['content-length'];
  return length !== undefined && /^\d+$/.test(length) && Number(length) > 0 && Number(length) <= MAX_REPLAY_BODY && !req.headers['transfer-encoding'];
}

/** The whole body, or null when the client goes away first. */
function readBody(req: IncomingMessage): Promise<Buffer | null> {
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
