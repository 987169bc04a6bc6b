import type { Server, ServerResponse } from 'node:http';
import { http } from '../runtime/cjs-imports.ts';
import type { Duplex } from 'node:stream';
import { once } from 'node:events';
import { errorBody, type ErrorCode } from './api-error.ts';

/** Resolves once listening on a TCP port (or a Unix socket path); rejects with the listen error. */
export async function listen(server: Server, port: number | string, host?: string): Promise<number> {
  if (typeof port === 'string') server.listen(port);
  else server.listen(port, host);
  await Promise.race([
    once(server, 'listening'),
    once(server, 'error').then(([error]) => Promise.reject(error)),
  ]);
  const address = server.address();
  return typeof address === 'object' && address ? address.port : 0;
}

/** Stops accepting, lets in-flight requests finish (idle keep-alive sockets are closed as they become idle),
 *  and after `timeoutMs` cuts whatever is left. Resolves `true` when everything finished in time. */
export async function closeGracefully(server: Server, timeoutMs: number): Promise<boolean> {
  if (!server.listening) return true;
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  server.closeIdleConnections();
  const sweep = setInterval(() => server.closeIdleConnections(), 50);
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(false), timeoutMs);
  });
  try {
    const inTime = await Promise.race([closed.then(() => true), timedOut]);
    if (!inTime) {
      server.closeAllConnections();
      await closed;
    }
    return inTime;
  } finally {
    clearInterval(sweep);
    clearTimeout(timer);
  }
}

/** Answers what Node's HTTP parser refuses (oversized headers, malformed requests, headers that took too
 *  long) with a JSON error, then closes gently. Node's own answer is written and the socket destroyed at
 *  once: with request bytes still unread (1 MiB of headers) that resets the connection, and the client sees
 *  ECONNRESET instead of the 431. Here the answer goes out with a FIN, whatever the client still sends is
 *  read and dropped, and the socket is destroyed after at most two seconds. */
export function answerClientErrors(server: Server): void {
  const answered = new WeakSet<Duplex>();
  server.on('clientError', (error: NodeJS.ErrnoException, socket: Duplex) => {
    if (answered.has(socket)) return; // the parser reports again for every further chunk: already handled
    // a response already under way on this socket cannot be followed by another one
    const inFlight = (socket as Duplex & { _httpMessage?: ServerResponse | null })._httpMessage;
    if (error.code === 'ECONNRESET' || !socket.writable || inFlight?.headersSent) {
      socket.destroy();
      return;
    }
    answered.add(socket);
    const [status, code, message]: [number, ErrorCode, string] =
      error.code === 'HPE_HEADER_OVERFLOW'
        ? [431, 'bad_request', 'the request line and headers are too large (at most 16 KiB)']
        : error.code === 'ERR_HTTP_REQUEST_TIMEOUT'
          ? [408, 'bad_request', 'the request headers did not arrive in time']
          : [400, 'bad_request', 'the request is not valid HTTP'];
    writeRawAnswer(socket, status, errorBody(code, message));
    socket.resume();
    setTimeout(() => socket.destroy(), 2000).unref();
  });
}

/** An answer written straight to a socket, where no `ServerResponse` exists (a WebSocket upgrade, a request
 *  the HTTP parser refused): a JSON body when given, and the connection closed after it. */
export function writeRawAnswer(socket: Duplex, status: number, body?: unknown, headers: Record<string, string> = {}): void {
  const text = body === undefined ? '' : JSON.stringify(body);
  const lines = [
    `HTTP/1.1 ${status} ${http.STATUS_CODES[status] ?? ''}`,
    ...(text ? ['content-type: application/json; charset=utf-8'] : []),
    `content-length: ${Buffer.byteLength(text)}`,
    'cache-control: no-store',
    ...Object.entries(headers).map(([name, value]) => `${name}: ${value}`),
    'connection: close',
  ];
  socket.end(`${lines.join('\r\n')}\r\n\r\n${text}`);
}
