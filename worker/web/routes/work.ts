import type { Router } from '../../../shared/runtime/cjs-imports.ts';
import { allow, strictRouter } from '../../../shared/http/route-access.ts';
import { z } from 'zod';
import { ApiError } from '../../../shared/http/api-error.ts';
import { readJson } from '../../../shared/http/json-body.ts';
import { requireProfile, type WorkerDeps } from '../../profile/deps.ts';
import { WORK_LIMITS_MS, type WorkName } from '../../work/work-in-progress.ts';

const CancelBody = z.object({
  name: z.enum(Object.keys(WORK_LIMITS_MS) as [WorkName, ...WorkName[]]).optional(),
  id: z.number().int().positive().optional(),
});

/** The work under way for this profile (its stage, how long it has run, the most it can take), and
 *  cancelling it. The pages follow it live through `/api/events` (`work` events). */
export function workRoutes(deps: WorkerDeps): Router {
  const router = strictRouter();
  const OWN = allow({ action: 'use', handle: 'own' });

  router.get('/api/work', OWN, async (ctx) => {
    const profile = deps.profile?.loaded;
    ctx.body = { success: true, work: profile?.work.views ?? [] };
  });

  // Cancelled work answers `cancelled` to whoever started it; Chrome is free again within two seconds.
  router.post('/api/work/cancel', OWN, async (ctx) => {
    const profile = await requireProfile(deps);
    // No body: whatever is running.
    const which = ctx.request.length || ctx.request.type ? await readJson(ctx, CancelBody) : {};
    const work = profile.work.find(which);
    if (!work) throw new ApiError(404, 'not_found', which.name || which.id ? 'that work is not running (it may have just ended)' : 'nothing is running for this profile');
    if (!work.view.cancellable) throw new ApiError(409, 'invalid_state', `${work.view.title} cannot be cancelled; it ends within ${Math.round(work.view.limit_ms / 1000)} s`);
    await work.cancel();
    deps.log.info({ work: work.view.name, stage: work.view.stage, user: ctx.state.who?.user }, 'work cancelled');
    ctx.body = { success: true, cancelled: work.view };
  });

  return router;
}
