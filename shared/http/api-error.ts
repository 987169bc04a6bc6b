import type { ServerResponse } from 'node:http';
import type { Middleware } from 'koa';
import type { Logger } from '../runtime/logger.ts';

/** The stable error codes (README, "API"), in one place. */
export type ErrorCode =
  | 'invalid_handle'
  | 'invalid_json'
  | 'invalid_body'
  | 'unsupported_media_type'
  | 'payload_too_large'
  | 'credentials_not_found'
  | 'profile_exists'
  | 'profile_not_found'
  | 'cannot_delete_active_profile'
  | 'no_active_profile'
  | 'not_authenticated'
  | 'token_expired_or_revoked'
  | 'invalid_state'
  | 'browser_unavailable'
  | 'mis_login_failed'
  | 'mis_credentials_missing'
  | 'automation_failed'
  | 'automation_timeout'
  | 'busy'
  | 'cancelled'
  | 'google_unreachable'
  | 'session_unavailable'
  | 'corrupt_file'
  | 'storage_error'
  | 'forbidden'
  | 'unauthorized'
  | 'worker_unavailable'
  | 'bad_gateway'
  | 'gateway_timeout'
  | 'bad_request'
  | 'not_found'
  | 'method_not_allowed'
  | 'host_not_allowed'
  | 'invalid_credentials'
  | 'too_many_attempts'
  | 'unknown_user'
  | 'user_exists'
  | 'user_not_found'
  | 'password_too_short'
  | 'request_timeout'
  | 'password_required'
  | 'too_many_connections'
  | 'internal_error';

export class ApiError extends Error {
  readonly status: number;
  readonly code: ErrorCode;
  readonly extra: Record<string, unknown>;
  constructor(status: number, code: ErrorCode, message: string, extra: Record<string, unknown> = {}) {
    super(message);
    this.status = status;
    this.code = code;
    this.extra = extra;
  }
}

export function errorBody(code: ErrorCode, message: string, extra: Record<string, unknown> = {}) {
  return { success: false as const, error: code, message, ...extra };
}

/** An error answer as data: what `ApiError` carries, and what the paths outside Koa build. */
export interface ErrorAnswer {
  readonly status: number;
  readonly code: ErrorCode;
  readonly message: string;
  readonly extra?: Record<string, unknown>;
}

/** For the paths that answer without Koa (the supervisor's proxy and server): the same body Koa's answers have. */
export function sendError(res: ServerResponse, answer: ErrorAnswer, headers: Record<string, string> = {}): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const body = JSON.stringify(errorBody(answer.code, answer.message, answer.extra));
  res.writeHead(answer.status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(body),
    'cache-control': 'no-store',
    ...headers,
  });
  res.end(body);
}

/** Turns thrown `ApiError`s into JSON answers and anything else into a logged 500 without details. */
export function errorMiddleware(log: Logger): Middleware {
  return async function jsonErrors(ctx, next) {
    try {
      await next();
      if (ctx.respond === false) return; // answered already, outside Koa (a refusal: shared/http/refusal.ts)
      if (ctx.status === 404 && ctx.body === undefined) {
        throw new ApiError(404, 'not_found', `no route for ${ctx.method} ${ctx.path}`);
      }
      if (ctx.status === 405 && ctx.body === undefined) {
        throw new ApiError(405, 'method_not_allowed', `${ctx.method} is not allowed on ${ctx.path}`);
      }
    } catch (error) {
      const api = toApiError(error);
      // An ApiError is an expected, explained failure (the MIS unreachable, Google refusing, Chrome missing):
      // a warning with its code and message, no stack. Anything else is a bug: an error with its stack.
      if (api.status >= 500) {
        if (error instanceof ApiError) log.warn({ error: api.code, status: api.status, path: ctx.path }, api.message);
        else log.error({ err: error, path: ctx.path }, 'request failed');
      }
      ctx.status = api.status;
      ctx.set('cache-control', 'no-store');
      ctx.body = errorBody(api.code, api.message, api.extra);
    }
  };
}

function toApiError(error: unknown): ApiError {
  if (error instanceof ApiError) return error;
  const e = error as { status?: number; expose?: boolean; message?: string; code?: string };
  if (e.code === 'EACCES' || e.code === 'EROFS' || e.code === 'ENOSPC' || e.code === 'EPERM') {
    return new ApiError(507, 'storage_error', `the config dir cannot be written (${e.code}); check its permissions and free space`);
  }
  if (error instanceof URIError) return new ApiError(400, 'bad_request', 'the URL holds invalid percent-encoding');
  if (typeof e.status === 'number' && e.status >= 400 && e.status < 500 && e.expose) {
    return new ApiError(e.status, 'bad_request', e.message ?? 'bad request');
  }
  return new ApiError(500, 'internal_error', 'internal error; see the server log');
}
