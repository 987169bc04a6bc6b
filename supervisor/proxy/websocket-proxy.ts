import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { createProxyServer } from 'http-proxy-3';
import { errorBody } from '../../shared/http/api-error.ts';
import { writeRawAnswer } from '../../shared/http/http-server.ts';
import type { Logger } from '../../shared/runtime/logger.ts';
import type { Admission } from './admission.ts';
import { upgradeHeaders } from './forwarded-headers.ts';

/** One WebSocket upgrade to forward. */
export interface UpgradeOptions {
  req: IncomingMessage;
  socket: Duplex;
  head: Buffer;
  worker: Admission;
  /** What the worker sees: the path and query, the route prefix stripped. */
  path: string;
  /** The route prefix (`/p/<h>`), sent as `X-Forwarded-Prefix`; empty for `/api/…`. */
  prefix: string;
  /** Headers the supervisor adds: who is asking. */
  headers: string[];
}

/** WebSocket upgrades to `/p/<h>/…`, through http-proxy-3: a lease from the worker's admission (held while
 *  it starts, like any request) for as long as the connection lasts; when either side goes away, both
 *  sockets are closed and the lease is returned. The worker gets the same headers as for a request
 *  (`forwarded-headers.ts`). */
export class WebSocketProxy {
  readonly #proxy = createProxyServer({ ws: true, xfwd: false });
  readonly #log: Logger;
  readonly #holdTimeoutMs: number;
  readonly #proxyHeader: string;

  constructor(options: { log: Logger; holdTimeoutMs: number; proxyHeader: string }) {
    this.#log = options.log;
    this.#holdTimeoutMs = options.holdTimeoutMs;
    this.#proxyHeader = options.proxyHeader.toLowerCase();
    this.#proxy.on('error', () => {}); // every call passes its own callback; this only guards against a crash
  }

  upgrade(options: UpgradeOptions): void {
    const { req, socket, head, worker } = options;
    socket.on('error', () => socket.destroy());
    req.headers = upgradeHeaders(req, options.prefix, this.#proxyHeader, options.headers);
    req.url = options.path;
    const gone = new AbortController();
    const onClose = () => gone.abort();
    socket.once('close', onClose);
    void worker.acquire(this.#holdTimeoutMs, gone.signal).then((result) => {
      socket.off('close', onClose);
      if (!result.ok) {
        if (!gone.signal.aborted) writeRawAnswer(socket, result.status, errorBody(result.code, result.message, result.extra), { 'retry-after': String(result.retryAfterSeconds) });
        return;
      }
      if (socket.destroyed) {
        result.release();
        return;
      }
      result.stream();
      socket.once('close', () => result.release());
      this.#proxy.ws(req, socket, head, { target: result.target }, (error: Error) => {
        this.#log.warn({ handle: worker.handle, code: (error as NodeJS.ErrnoException).code }, 'WebSocket to the worker failed');
        socket.destroy();
      });
    });
  }
}
