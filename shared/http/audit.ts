import type { Context, Next } from 'koa';
import { ApiError } from './api-error.ts';
import type { Logger } from '../runtime/logger.ts';

/** One audit line: who made a change (or tried to), to which profile, what, and how it ended. Never a body
 *  or a secret. */
export interface AuditLine {
  user: string;
  profile?: string | null;
  method: string | undefined;
  path: string | undefined;
  status: number;
  /** Reached a worker's own port, not through the supervisor. */
  direct?: boolean;
}

/** The one writer of audit lines (`"audit": true`): a warning for a refused sign-in, else information. */
export function audit(log: Logger, line: AuditLine, message = 'request', level: 'info' | 'warn' = 'info'): void {
  log[level]({ audit: true, ...line }, message);
}

/** Runs the rest of a Koa request, then writes its audit line with the status it ended with (also when it
 *  threw). */
export async function audited(ctx: Context, next: Next, log: Logger, who: Pick<AuditLine, 'user' | 'profile' | 'direct'>): Promise<void> {
  let status = 500;
  try {
    await next();
    status = ctx.status;
  } catch (error) {
    status = error instanceof ApiError ? error.status : 500;
    throw error;
  } finally {
    audit(log, { ...who, method: ctx.method, path: ctx.path, status });
  }
}
