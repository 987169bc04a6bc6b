import type { Middleware } from 'koa';
import { ApiError } from './api-error.ts';

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/** Refuses state-changing requests a browser sends on behalf of another site (CSRF). Non-browser clients
 *  (curl, scripts) send no `Origin` and pass; the project's own pages send their own origin. */
export function sameOriginGuard(): Middleware {
  return async (ctx, next) => {
    if (!SAFE_METHODS.has(ctx.method)) {
      const site = ctx.get('sec-fetch-site');
      const origin = ctx.get('origin');
      const host = ctx.get('x-forwarded-host') || ctx.get('host');
      if (site === 'cross-site' || (origin && origin !== 'null' && hostOf(origin) !== host.toLowerCase()) || origin === 'null') {
        throw new ApiError(403, 'forbidden', 'cross-site requests to this endpoint are refused');
      }
    }
    await next();
  };
}

function hostOf(origin: string): string | null {
  try {
    return new URL(origin).host.toLowerCase();
  } catch {
    return null;
  }
}
