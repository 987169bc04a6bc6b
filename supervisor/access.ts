import { sameSecret } from '../shared/same-secret.ts';
import { isIPv4 } from 'node:net';
import type { Middleware } from 'koa';
import { ApiError } from '../shared/api-error.ts';

/** 127.0.0.0/8, ::1 and their IPv4-mapped forms. */
export function isLoopbackAddress(address: string | undefined): boolean {
  if (!address) return false;
  const v4 = address.startsWith('::ffff:') ? address.slice(7) : address;
  return (isIPv4(v4) && v4.startsWith('127.')) || address === '::1';
}

export type AccessDecision = { allowed: true } | { allowed: false; status: 401 | 403; reason: string };

/** With AUTH=none, who may use a supervisor write endpoint (README, "Configuration", `SUPERVISOR_TOKEN`): the
 *  bearer token when one is configured, otherwise loopback clients only. With sign-in, supervisor/access-policy.ts
 *  decides. */
export function checkWriteAccess(request: { remoteAddress: string | undefined; authorization: string | undefined }, token: string | undefined): AccessDecision {
  if (token) {
    const given = /^Bearer\s+(.+)$/i.exec(request.authorization ?? '')?.[1]?.trim() ?? '';
    if (sameSecret(given, token)) return { allowed: true };
    return { allowed: false, status: 401, reason: 'this endpoint needs "Authorization: Bearer <SUPERVISOR_TOKEN>"' };
  }
  if (isLoopbackAddress(request.remoteAddress)) return { allowed: true };
  return { allowed: false, status: 403, reason: 'supervisor write endpoints accept loopback clients only; set SUPERVISOR_TOKEN to allow others' };
}

export function requireWriteAccess(token: string | undefined): Middleware {
  return async (ctx, next) => {
    const decision = checkWriteAccess({ remoteAddress: ctx.req.socket.remoteAddress, authorization: ctx.get('authorization') || undefined }, token);
    if (!decision.allowed) {
      if (decision.status === 401) ctx.set('www-authenticate', 'Bearer');
      throw new ApiError(decision.status, decision.status === 401 ? 'unauthorized' : 'forbidden', decision.reason);
    }
    await next();
  };
}
