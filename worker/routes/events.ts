import { PassThrough } from 'node:stream';
import { Router } from '../../shared/cjs-imports.ts';
import type { WorkerDeps } from '../deps.ts';
import type { WorkerEvent } from '../events.ts';

/** A quiet stream still shows it is alive, so proxies on the way do not cut it. */
const HEARTBEAT_MS = 25_000;

/** `GET /api/events`: the worker's events as Server-Sent Events, the current status first. (A WebSocket on
 *  the same path carries the same events: `worker/events-socket.ts`.) */
export function eventRoutes(deps: WorkerDeps): Router {
  const router = new Router({ prefix: '/api' });
  router.get('/events', (ctx) => {
    const stream = new PassThrough();
    const send = (event: WorkerEvent) => stream.write(`event: ${event.type}\ndata: ${JSON.stringify(event)}\n\n`);
    const unsubscribe = deps.events.subscribe({ event: send, end: () => stream.end() });
    const heartbeat = setInterval(() => stream.write(': keep-alive\n\n'), HEARTBEAT_MS);
    heartbeat.unref();
    ctx.req.once('close', () => {
      clearInterval(heartbeat);
      unsubscribe();
      stream.end();
    });
    ctx.req.socket.setTimeout(0);
    ctx.status = 200;
    ctx.type = 'text/event-stream';
    ctx.set('cache-control', 'no-store');
    ctx.body = stream;
    send(statusEvent(deps));
  });
  return router;
}

/** What a new subscriber is told first. */
export function statusEvent(deps: WorkerDeps): WorkerEvent {
  const loaded = deps.profile?.loaded;
  return {
    type: 'status',
    at: Date.now(),
    browser: loaded?.browser.status() ?? null,
    automation: loaded?.automation.running ?? null,
    work: loaded?.work.views ?? [],
    restore: deps.restore.status,
  };
}
