import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { createProxyServer } from 'http-proxy-3';
import { errorBody } from '../shared/api-error.ts';
import type { Logger } from '../shared/logger.ts';
import type { Admission, Refusal } from './admission.ts';
import { http } from '../shared/cjs-imports.ts';

/** WebSocket upgrades to `/p/<h>/…`, through http-proxy-3: a lease from the worker's admission (held while
 *  it starts, like any request) for as long as the connection lasts; when either side goes away, both
 *  sockets are closed and the lease is returned. */
export class WebSocketProxy {
  readonly #proxy = createProxyServer({ ws: true, xfwd: true });
  readonly #log: Logger;
  readonly #holdTimeoutMs: number;

  constructor(options: { log: Logger; holdTimeoutMs: number }) {
    this.#log = options.log;
    this.#holdTimeoutMs = options.holdTimeoutMs;
    this.#proxy.on('error', () => {}); // every call passes its own callback; this only guards against a crash
  }

  upgrade(req: IncomingMessage, socket: Duplex, head: Buffer, worker: Admission, path: string, prefix: string): void {
    socket.on('error', () => socket.destroy());
    req.url = path;
    if (prefix) req.headers['x-forwarded-prefix'] = prefix;
    else delete req.headers['x-forwarded-prefix'];
    const gone = new AbortController();
    const onClose = () => gone.abort();
    socket.once('close', onClose);
    void worker.acquire(this.#holdTimeoutMs, gone.signal).then((result) => {
      socket.off('close', onClose);
      if (!result.ok) {
        if (!gone.signal.aborted) refuse(socket, result);
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

/** The 503 of a worker that will not come, on the raw socket of an upgrade request. */
function refuse(socket: Duplex, refusal: Refusal): void {
  const body = JSON.stringify(errorBody(refusal.code, refusal.message, refusal.extra));
  socket.end(
    `HTTP/1.1 ${refusal.status} ${http.STATUS_CODES[refusal.status]}\r\ncontent-type: application/json; charset=utf-8\r\n` +
      `content-length: ${Buffer.byteLength(body)}\r\nretry-after: ${refusal.retryAfterSeconds}\r\nconnection: close\r\n\r\n${body}`,
  );
}
