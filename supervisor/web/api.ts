import type { Router } from '../../shared/runtime/cjs-imports.ts';
import { z } from 'zod';
import { ApiError } from '../../shared/http/api-error.ts';
import { requireHandle } from '../../shared/http/json-body.ts';
import { allow, strictRouter } from '../../shared/http/route-access.ts';
import { VERSION } from '../../shared/runtime/version.ts';
import type { Handle } from '../../shared/profiles/handle.ts';
import type { Supervisor } from '../control/supervisor.ts';
import { workersFor } from './dashboard-events.ts';
import type { Identity } from '../access/identity.ts';
import type { Settings } from '../../shared/runtime/settings.ts';
import type { Context } from 'koa';
import { openSse } from '../../shared/http/sse-stream.ts';
import { isNavigation } from '../../shared/http/html-page.ts';
import type { LogRing } from '../workers/log-ring.ts';
import { readableLine, readableLines } from './readable-lines.ts';

/** `/supervisor/api/…` and `/healthz` (README, "API"). Actions on workers are requests that the reconcile
 *  loop carries out (docs/architecture.md, "The reconcile loop"). */
export function supervisorApi(supervisor: Supervisor, options: { settings: Settings; startedAt: number }): Router {
  const router = strictRouter();
  const handleParam = { param: 'handle' } as const;

  const workerOf = (raw: string) => {
    const handle = requireHandle(raw);
    const worker = supervisor.worker(handle);
    if (!worker) throw new ApiError(404, 'profile_not_found', `no worker for "${handle}": the profile is not registered, lacks its credentials file, or is outside PROFILES`);
    return { handle, worker };
  };
  const answer = (handle: Handle) => ({ success: true, worker: supervisor.list().find((w) => w.handle === handle) ?? null });

  router.get('/healthz', allow({ action: 'public' }), (ctx) => {
    ctx.body = {
      success: true,
      status: 'ok',
      version: VERSION,
      uptime_ms: Math.round(performance.now() - options.startedAt),
      current: supervisor.current,
      first_run: supervisor.firstRun,
      workers: supervisor.countByState(),
    };
  });

  router.get('/supervisor/api/workers', allow({ action: 'signed-in' }), (ctx) => {
    // Each person sees the profiles they may use (admins and AUTH=none: all).
    ctx.body = workersFor(supervisor, ctx.state.identity as Identity);
  });

  router.get('/supervisor/api/workers/:handle', allow({ action: 'use', handle: handleParam }), (ctx) => {
    const { handle } = workerOf(ctx.params.handle!);
    ctx.body = answer(handle);
  });

  router.get('/supervisor/api/workers/:handle/logs', allow({ action: 'use', handle: handleParam }), (ctx) => {
    ctx.vary('accept');
    // A person's browser that opens this URL gets the logs page; API clients keep the JSON.
    if (isNavigation(ctx.method, ctx.headers)) {
      const handle = requireHandle(ctx.params.handle!);
      ctx.status = 303;
      ctx.redirect(`/logs?handle=${encodeURIComponent(handle)}`);
      return;
    }
    const { handle, worker } = workerOf(ctx.params.handle!);
    const count = Math.min(Math.max(Number(ctx.query.lines) || 500, 1), 500);
    const tail = worker.logs.tail(count);
    // `format=readable`: as the pages show them (time, level, text, repeats counted), not the JSON records.
    ctx.body = { success: true, handle, lines: ctx.query.format === 'readable' ? readableLines(tail) : tail.map(parseLine) };
  });

  router.get('/supervisor/api/workers/:handle/logs/stream', allow({ action: 'use', handle: handleParam }), (ctx) => {
    const { handle, worker } = workerOf(ctx.params.handle!);
    // `format=readable`: each line as the pages show it (readable-lines.ts), not the JSON record.
    const readable = ctx.query.format === 'readable';
    logStream(ctx, worker.logs, () => supervisor.worker(handle) === worker, readable ? (line) => JSON.stringify(readableLine(line)) : (line) => line);
  });

  for (const action of ['restart', 'stop', 'start'] as const) {
    router.post(`/supervisor/api/workers/:handle/${action}`, allow({ action: 'operate', handle: handleParam }), async (ctx) => {
      const { handle } = workerOf(ctx.params.handle!);
      if (action === 'restart') await supervisor.restart(handle);
      else if (action === 'stop') await supervisor.stopWorker(handle);
      else await supervisor.startWorker(handle);
      ctx.body = answer(handle);
    });
  }

  // Workers an earlier supervisor started with another build or other settings ("older version" on the
  // dashboard) move to this one, one at a time, each once its work has ended; the answer does not wait.
  router.post('/supervisor/api/workers/upgrade', allow({ action: 'admin' }), (ctx) => {
    const moving = supervisor.upgradeOlder();
    ctx.status = 202;
    ctx.body = { success: true, moving, message: moving.length === 0 ? 'every worker runs this version' : `moving ${moving.length} worker(s) to this version, one at a time, each when its work has ended` };
  });

  // Where everyone's /api goes (last_profile.json): an admin's decision; a person moves their own with
  // POST /api/profile/switch.
  router.post('/supervisor/api/current', allow({ action: 'admin', handle: { body: 'handle' }, body: z.object({ handle: z.unknown().optional() }) }), async (ctx) => {
    const handle = requireHandle((ctx.state.body as { handle: unknown }).handle);
    workerOf(handle);
    await supervisor.makeCurrent(handle);
    ctx.body = { success: true, current: supervisor.current };
  });

  // The same action, and so the same rule, as POST /api/profile/delete.
  router.delete('/supervisor/api/profiles/:handle', allow({ action: 'delete', handle: handleParam }), async (ctx) => {
    const handle = requireHandle(ctx.params.handle);
    if (!(await supervisor.deleteProfile(handle))) throw new ApiError(404, 'profile_not_found', `profile "${handle}" is not registered`);
    ctx.body = { success: true, handle, message: `profile "${handle}" deleted; its credentials and blaze config files were kept` };
  });

  return router;
}

/** How often a stream looks whether its profile is still managed here. */
const GONE_CHECK_MS = 2000;

/** `GET …/:h/logs/stream` as Server-Sent Events (`shared/http/sse-stream.ts`: retry, heartbeat, an end when the
 *  client goes or the supervisor stops): each line of the tail as `event: line` (the relayed JSON line,
 *  already redacted), `event: live` once the tail is sent, then each new line as it comes; `event: gone`
 *  and the end when the profile's worker is removed (deleted, or outside PROFILES). */
function logStream(ctx: Context, ring: LogRing, stillThere: () => boolean, render: (line: string) => string): void {
  const stream = openSse(ctx);
  const tail = ring.tail();
  // Taken and subscribed in one go: no line is lost or sent twice between the tail and the first new line.
  stream.onEnd(ring.subscribe((line) => stream.send('line', render(line))));
  for (const line of tail) stream.send('line', render(line));
  stream.send('live', JSON.stringify({ lines: tail.length }));
  const gone = setInterval(() => {
    if (stillThere()) return;
    stream.send('gone', JSON.stringify({ message: 'this profile is no longer managed here (deleted, or outside PROFILES)' }));
    stream.end();
  }, GONE_CHECK_MS);
  gone.unref();
  stream.onEnd(() => clearInterval(gone));
}

function parseLine(line: string): unknown {
  try {
    return JSON.parse(line);
  } catch {
    return { msg: line };
  }
}
