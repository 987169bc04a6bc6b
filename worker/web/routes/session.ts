import type { Router } from '../../../shared/runtime/cjs-imports.ts';
import { allow, strictRouter } from '../../../shared/http/route-access.ts';
import { z } from 'zod';
import { ApiError } from '../../../shared/http/api-error.ts';
import { readJson } from '../../../shared/http/json-body.ts';
import type { WorkerDeps } from '../../profile/deps.ts';

const KEY = /^[A-Za-z0-9_.-]{1,128}$/;
const MAX_KEYS = 1000;

/** The profile's persistent session as key/value JSON: what the pages remember between visits and what
 *  the worker keeps across restarts (the loaded spreadsheet, the last CSV). */
export function sessionRoutes(deps: WorkerDeps): Router {
  const router = strictRouter();
  const OWN = allow({ action: 'use', handle: 'own' });
  const keyOf = (raw: string | undefined) => {
    if (!raw || !KEY.test(raw)) throw new ApiError(400, 'invalid_body', 'session keys are 1–128 letters, digits, dots, dashes or underscores');
    return raw;
  };

  router.get('/api/session', OWN, async (ctx) => {
    const keys = (await deps.session.values.keys()).sort();
    const values = Object.fromEntries(await Promise.all(keys.map(async (k) => [k, await deps.session.values.get(k)] as const)));
    ctx.body = { success: true, backend: deps.session.backend.name, keys, values };
  });

  router.get('/api/session/:key', OWN, async (ctx) => {
    const key = keyOf(ctx.params.key);
    const value = await deps.session.values.get(key);
    if (value === undefined) throw new ApiError(404, 'not_found', `no session value "${key}"`);
    ctx.body = { success: true, key, value };
  });

  router.put('/api/session/:key', OWN, async (ctx) => {
    const key = keyOf(ctx.params.key);
    const { value } = await readJson(ctx, z.object({ value: z.json() }), 256 * 1024);
    if ((await deps.session.values.get(key)) === undefined && (await deps.session.values.keys()).length >= MAX_KEYS) {
      throw new ApiError(409, 'invalid_state', `the session already holds ${MAX_KEYS} keys`);
    }
    await deps.session.values.set(key, value);
    ctx.body = { success: true, key, saved: true };
  });

  router.delete('/api/session/:key', OWN, async (ctx) => {
    const key = keyOf(ctx.params.key);
    ctx.body = { success: true, key, deleted: await deps.session.values.delete(key) };
  });

  router.delete('/api/session', OWN, async (ctx) => {
    ctx.body = { success: true, cleared: await deps.session.values.clear() };
  });

  return router;
}
