import type { IncomingHttpHeaders } from 'node:http';
import type { Middleware } from 'koa';
import { ApiError } from './api-error.ts';
import { isSafeMethod } from './methods.ts';

/** What an HTML form can send to another site without a CORS preflight. No route takes any of them. */
const FORM_TYPES = new Set(['application/x-www-form-urlencoded', 'multipart/form-data', 'text/plain']);

/** Refuses state-changing requests a browser sends on behalf of another site (CSRF). Non-browser clients
 *  (curl, scripts) send no `Origin` and pass; the project's own pages send their own origin. A form content
 *  type is refused whatever the headers say: a form posted from another site (or by a browser that sends no
 *  `Origin`) cannot trigger anything, not even the routes that read no body (restart, init-all, …). */
export function sameOriginGuard(): Middleware {
  return async function sameOriginOnly(ctx, next) {
    if (!isSafeMethod(ctx.method)) {
      if (FORM_TYPES.has(ctx.request.type)) {
        throw new ApiError(415, 'unsupported_media_type', 'form submissions are refused here: send JSON ("Content-Type: application/json"), or a CSV upload as "text/csv"');
      }
      if (crossSiteReason(ctx.req.headers)) throw new ApiError(403, 'forbidden', 'cross-site requests to this endpoint are refused');
    }
    await next();
  };
}

/** Why a request comes from another site (a browser says so in `Sec-Fetch-Site` or `Origin`), or null. */
export function crossSiteReason(headers: IncomingHttpHeaders): string | null {
  const site = first(headers['sec-fetch-site']);
  const origin = first(headers.origin);
  const host = (first(headers['x-forwarded-host']) || first(headers.host)).toLowerCase();
  if (site === 'cross-site') return 'Sec-Fetch-Site: cross-site';
  if (origin === 'null') return 'an opaque origin';
  if (origin && hostOf(origin) !== host) return `origin ${origin} is not this host`;
  return null;
}

function first(value: string | string[] | undefined): string {
  return (Array.isArray(value) ? value[0] : value) ?? '';
}

function hostOf(origin: string): string | null {
  try {
    return new URL(origin).host.toLowerCase();
  } catch {
    return null;
  }
}
