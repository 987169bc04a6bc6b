import type { Context, Next } from 'koa';
import { ApiError } from './api-error.ts';
import type { Logger } from '../runtime/logger.ts';

/** Runs the rest of the request, then writes its audit line (who, what, the status it ended with, also
 *  when it threw): the one shape of audit line the Koa apps write for a change someone made. */
export async function audited(ctx: Context, next: Next, log: Logger, who: Record<string, unknown>): Promise<void> {
  let status = 500;
  try {
    await next();
    status = ctx.status;
  } catch (error) {
    status = error instanceof ApiError ? error.status : 500;
    throw error;
  } finally {
    log.info({ audit: true, ...who, method: ctx.method, path: ctx.path, status }, 'request');
  }
}

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/** Methods that change nothing (RFC 9110 §9.2.1): they are not audited, and no cross-site check applies. */
export function isSafeMethod(method: string | undefined): boolean {
  return SAFE_METHODS.has(method ?? 'GET');
}
