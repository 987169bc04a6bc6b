import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { createProxyServer } from 'http-proxy-3';
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

type ProxyServer = ReturnType<typeof createProxyServer>;

/** WebSocket upgrades to `/p/<h>/…`, through http-proxy-3: a lease from the worker's admission (held while
 *  it starts, like any request) for as long as the connection lasts; when either side goes away, both
 *  sockets are closed and the lease is returned. The worker gets the same headers as for a request
 *  (`forwarded-headers.ts`). http-proxy-3 is loaded at the first upgrade: a supervisor whose pages never
 *  open one does not carry it. */
export class WebSocketProxy {
  #proxy: Promise<ProxyServer> | null = null;
  readonly #log: Logger;
  readonly #holdTimeoutMs: number;
  readonly #proxyHeader: string;

  constructor(options: { log: Logger; holdTimeoutMs: number; proxyHeader: string }) {
    this.#log = options.log;
    this.#holdTimeoutMs = options.holdTimeoutMs;
    this.#proxyHeader = options.proxyHeader.toLowerCase();
  }

  #proxyServer(): Promise<ProxyServer> {
    this.#proxy ??= import('http-proxy-3').then(({ createProxyServer }) => {
      const proxy = createProxyServer({ ws: true, xfwd: false });
      proxy.on('error', () => {}); // every call passes its own callback; this only guards against a crash
      return proxy as ProxyServer;
    });
    return this.#proxy;
  }

  upgrade(options: UpgradeOptions): void {
    const { req, socket, head, worker } = options;
    socket.on('error', () => socket.destroy());
    req.headers = upgradeHeaders(req, options.prefix, this.#proxyHeader, options.headers);
    req.url = options.path;
    const gone = new AbortController();
    const onClose = () => gone.abort();
    socket.once('close', onClose);
    void Promise.all([worker.acquire(this.#holdTimeoutMs, gone.signal), this.#proxyServer()]).then(([result, proxy]) => {
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
      proxy.ws(req, socket, head, { target: result.target }, (error: unknown) => {
        this.#log.warn({ handle: worker.handle, code: (error as NodeJS.ErrnoException).code }, 'WebSocket to the worker failed');
        socket.destroy();
      });
    });
  }
}
