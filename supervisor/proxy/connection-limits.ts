import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { errorBody, sendError } from '../../shared/http/api-error.ts';
import { writeRawAnswer } from '../../shared/http/http-server.ts';
import type { Logger } from '../../shared/runtime/logger.ts';

/** What one client may hold of the supervisor (README, "Configuration"): at most `maxPerClient` open
 *  connections per peer address, and a request body that stops arriving for `bodyTimeoutMs` is cut with a
 *  408. (Headers that do not arrive within 10 s are cut by Node's own `headersTimeout`.) */
export class ConnectionLimits {
  readonly #bodyTimeoutMs: number;
  readonly #maxPerClient: number;
  readonly #log: Logger;
  readonly #open = new Map<string, number>();
  readonly #bodies = new Map<IncomingMessage, { res: ServerResponse; bytes: number; since: number }>();
  #timer: NodeJS.Timeout | undefined;

  constructor(options: { bodyTimeoutMs: number; maxPerClient: number; log: Logger }) {
    this.#bodyTimeoutMs = options.bodyTimeoutMs;
    this.#maxPerClient = options.maxPerClient;
    this.#log = options.log;
  }

  /** Counts the connections of each peer address; one over the bound is answered 503 and closed. */
  watchConnections(server: Server): void {
    server.on('connection', (socket: Socket) => {
      const address = socket.remoteAddress ?? '';
      const open = (this.#open.get(address) ?? 0) + 1;
      if (open > this.#maxPerClient) {
        socket.on('error', () => {});
        writeRawAnswer(socket, 503, errorBody('too_many_connections', `at most ${this.#maxPerClient} connections per client address (MAX_CONNECTIONS_PER_CLIENT)`), { 'retry-after': '1' });
        socket.destroySoon();
        return;
      }
      this.#open.set(address, open);
      socket.once('close', () => {
        const left = this.#open.get(address)! - 1;
        if (left > 0) this.#open.set(address, left);
        else this.#open.delete(address);
      });
    });
  }

  /** Watches a request's body while it arrives: one that stops arriving is answered 408 and its connection
   *  closed. A body the supervisor is not reading yet (a request held while its worker starts) is waiting on
   *  the supervisor, not the client, and does not count as stopped. */
  watchBody(req: IncomingMessage, res: ServerResponse): void {
    const length = req.headers['content-length'];
    if ((length === undefined || length === '0') && req.headers['transfer-encoding'] === undefined) return;
    this.#bodies.set(req, { res, bytes: req.socket.bytesRead, since: performance.now() });
    const done = () => this.#bodies.delete(req);
    req.once('end', done);
    res.once('close', done);
    this.#timer ??= setInterval(() => this.#check(), Math.min(1000, Math.max(50, this.#bodyTimeoutMs / 4)));
    this.#timer.unref();
  }

  #check(): void {
    const now = performance.now();
    for (const [req, body] of this.#bodies) {
      const bytes = req.socket?.bytesRead ?? 0;
      if (req.complete || req.destroyed) {
        this.#bodies.delete(req);
      } else if (bytes !== body.bytes || req.readableLength > 0) {
        body.bytes = bytes;
        body.since = now;
      } else if (now - body.since >= this.#bodyTimeoutMs) {
        this.#bodies.delete(req);
        this.#log.warn({ method: req.method, path: req.url, address: req.socket?.remoteAddress, timeout_ms: this.#bodyTimeoutMs }, 'request body stopped arriving; cut');
        sendError(body.res, { status: 408, code: 'request_timeout', message: `the request body stopped arriving for ${this.#bodyTimeoutMs} ms` }, { connection: 'close' });
        setTimeout(() => req.socket?.destroy(), 100).unref();
      }
    }
    if (this.#bodies.size === 0) {
      clearInterval(this.#timer);
      this.#timer = undefined;
    }
  }
}
