import type { Router } from '../../shared/runtime/cjs-imports.ts';
import { openSse } from '../../shared/http/sse-stream.ts';
import { profilesOf } from '../../shared/access/access-rules.ts';
import { allow, strictRouter } from '../../shared/http/route-access.ts';
import type { Identity } from '../access/identity.ts';
import type { Supervisor } from '../control/supervisor.ts';

/** At most this many snapshots a second per stream: a burst of changes (a cold start of many workers) is
 *  sent as one. */
const MIN_INTERVAL_MS = 100;

/** The workers a person may see, with where `/api` goes: what `GET /supervisor/api/workers` answers. */
export function workersFor(supervisor: Supervisor, identity: Identity) {
  const allowed = profilesOf(identity);
  const workers = supervisor.list().filter((w) => allowed === 'all' || (w.handle !== null && allowed.includes(w.handle)));
  return { success: true, current: supervisor.current, first_run: supervisor.firstRun, workers };
}

/** `GET /supervisor/api/events`: the dashboard's live view, as Server-Sent Events — the workers list
 *  (`event: workers`) at once, and again after every change to a worker (its state, the stage of a start or
 *  stop, its work, its restore), so a start shows each stage as it happens without polling. */
export function dashboardEvents(supervisor: Supervisor): Router {
  const router = strictRouter();
  router.get('/supervisor/api/events', allow({ action: 'signed-in' }), (ctx) => {
    const identity = ctx.state.identity as Identity;
    const stream = openSse(ctx);
    let timer: NodeJS.Timeout | undefined;
    let last = 0;
    const send = () => {
      timer = undefined;
      last = performance.now();
      stream.send('workers', JSON.stringify({ ...workersFor(supervisor, identity), at: Date.now() }));
    };
    const unsubscribe = supervisor.onChange(() => {
      timer ??= setTimeout(send, Math.max(0, MIN_INTERVAL_MS - (performance.now() - last)));
    });
    stream.onEnd(() => {
      unsubscribe();
      clearTimeout(timer);
    });
    send();
  });
  return router;
}
