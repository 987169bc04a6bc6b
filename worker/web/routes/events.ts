import type { Router } from '../../../shared/runtime/cjs-imports.ts';
import { allow, strictRouter } from '../../../shared/http/route-access.ts';
import { openSse } from '../../../shared/http/sse-stream.ts';
import type { WorkerDeps } from '../../profile/deps.ts';
import type { WorkerEvent } from '../../profile/events.ts';

/** `GET /api/events`: the worker's events as Server-Sent Events, the current status first (heartbeat, end
 *  when the client goes or the worker stops: `shared/http/sse-stream.ts`). A WebSocket on the same path carries
 *  the same events: `worker/web/events-socket.ts`. */
export function eventRoutes(deps: WorkerDeps): Router {
  const router = strictRouter();
  const OWN = allow({ action: 'use', handle: 'own' });
  router.get('/api/events', OWN, (ctx) => {
    const stream = openSse(ctx);
    const send = (event: WorkerEvent) => stream.send(event.type, JSON.stringify(event));
    stream.onEnd(deps.events.subscribe({ event: send, end: () => stream.end() }));
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
