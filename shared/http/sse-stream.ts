import type { Server } from 'node:http';
import type { Socket } from 'node:net';
import { PassThrough } from 'node:stream';
import type { Context } from 'koa';

/** A quiet stream still shows it is alive, so proxies on the way do not cut it. */
const HEARTBEAT_MS = 15_000;
/** How often a stream looks whether its listener is closing: a graceful stop must not wait for it. */
const CLOSING_CHECK_MS = 100;
/** A client this far behind (stalled, not reading) is dropped rather than buffered for. */
const MAX_BUFFERED_BYTES = 1024 * 1024;

export interface SseStream {
  /** One event; `data` may hold newlines. Nothing happens once the stream has ended. */
  send(event: string, data: string): void;
  end(): void;
  /** Runs once when the stream ends, whoever ended it (the client, the server's stop, `end`). */
  onEnd(cleanup: () => void): void;
}

/** Answers `ctx` with a Server-Sent Events stream: a `retry` hint, a heartbeat comment, and an end when
 *  the client goes away, the listener closes (a graceful stop) or the client falls too far behind. */
export function openSse(ctx: Context, options: { heartbeatMs?: number; retryMs?: number } = {}): SseStream {
  const body = new PassThrough();
  const cleanups: (() => void)[] = [];
  let ended = false;
  const server = (ctx.req.socket as Socket & { server?: Server }).server;
  const closing = setInterval(() => {
    if (server && !server.listening) end();
  }, CLOSING_CHECK_MS);
  const heartbeat = setInterval(() => write(': keep-alive\n\n'), options.heartbeatMs ?? HEARTBEAT_MS);
  closing.unref();
  heartbeat.unref();
  function write(text: string): void {
    if (ended) return;
    if (body.writableLength > MAX_BUFFERED_BYTES) return end();
    body.write(text);
  }
  function end(): void {
    if (ended) return;
    ended = true;
    clearInterval(closing);
    clearInterval(heartbeat);
    for (const cleanup of cleanups.splice(0)) cleanup();
    body.end();
  }
  ctx.res.once('close', end);
  ctx.req.socket.setTimeout(0);
  ctx.status = 200;
  ctx.type = 'text/event-stream';
  ctx.set('cache-control', 'no-store');
  ctx.set('x-accel-buffering', 'no'); // nginx passes each event on at once
  ctx.body = body;
  write(`retry: ${options.retryMs ?? 2000}\n\n`);
  return {
    send: (event, data) => write(`event: ${event}\n${data.split('\n').map((l) => `data: ${l}\n`).join('')}\n`),
    end,
    onEnd: (cleanup) => {
      if (ended) cleanup();
      else cleanups.push(cleanup);
    },
  };
}
