import { audited } from '../shared/audit.ts';
import type { IncomingHttpHeaders } from 'node:http';
import type { Middleware } from 'koa';
import { ApiError, type ErrorCode } from '../shared/api-error.ts';
import { HOST_NOT_ALLOWED_MESSAGE, hostCheck } from '../shared/host-check.ts';
import { INTERNAL_SECRET_VAR, supervisorSays } from '../shared/internal-secret.ts';
import { configPaths } from '../shared/paths.ts';
import { sameSecret } from '../shared/same-secret.ts';
import type { Settings } from '../shared/settings.ts';
import { UserStore } from '../shared/users.ts';
import type { WorkerDeps } from './deps.ts';

const SAFE = new Set(['GET', 'HEAD', 'OPTIONS']);

/** Who is asking, as the routes see it: a person's name, and the profiles they may use. */
export interface Who {
  user: string;
  grants: string[] | 'all';
  /** Reached the worker's own port, not through the supervisor. */
  direct: boolean;
}

export type WorkerAccess = { ok: true; who: Who } | { ok: false; status: 401 | 421; code: ErrorCode; message: string };

/** Who may reach this worker. Every request: only the `Host` names the supervisor answers for. With sign-in
 *  (AUTH local or proxy): a request from the supervisor (its secret) is whoever the supervisor says; any
 *  other — the worker's own port — needs an admin's bearer token. */
export function workerAccessCheck(settings: Settings): (headers: IncomingHttpHeaders) => WorkerAccess {
  const hostAllowed = hostCheck(settings);
  const secret = process.env[INTERNAL_SECRET_VAR];
  const users = settings.AUTH === 'none' ? null : new UserStore(configPaths(settings.configDir).users);
  return (headers) => {
    if (!hostAllowed(headers.host)) return { ok: false, status: 421, code: 'host_not_allowed', message: HOST_NOT_ALLOWED_MESSAGE };
    const says = supervisorSays(headers, secret);
    if (says) return { ok: true, who: { ...says, direct: false } };
    if (!users) return { ok: true, who: { user: 'local', grants: 'all', direct: true } };
    const bearer = /^Bearer\s+(\S+)\s*$/i.exec(headers.authorization ?? '')?.[1];
    if (bearer && settings.SUPERVISOR_TOKEN && sameSecret(bearer, settings.SUPERVISOR_TOKEN)) return { ok: true, who: { user: 'SUPERVISOR_TOKEN', grants: 'all', direct: true } };
    const owner = bearer ? users.byToken(bearer)?.user : undefined;
    if (owner?.admin) return { ok: true, who: { user: owner.name, grants: 'all', direct: true } };
    return { ok: false, status: 401, code: 'unauthorized', message: "with sign-in on, a worker's own port needs an admin's API token (\"Authorization: Bearer <token>\"); people use the supervisor's URL" };
  };
}

/** The check in front of the worker's routes (`ctx.state.who`), and the audit line of what reaches the
 *  worker's own port directly (the supervisor audits what it forwards). */
export function workerAccess(deps: Pick<WorkerDeps, 'settings' | 'log'>): Middleware {
  const check = workerAccessCheck(deps.settings);
  return async (ctx, next) => {
    const access = check(ctx.req.headers);
    if (!access.ok) {
      if (access.status === 401) ctx.set('www-authenticate', 'Bearer');
      throw new ApiError(access.status, access.code, access.message);
    }
    ctx.state.who = access.who;
    if (SAFE.has(ctx.method) || !access.who.direct || deps.settings.AUTH === 'none') return next();
    return audited(ctx, next, deps.log, { user: access.who.user, direct: true });
  };
}
