import { audited } from '../shared/audit.ts';
import type { Middleware } from 'koa';
import { ApiError } from '../shared/api-error.ts';
import { parseHandle } from '../shared/handle.ts';
import type { Logger } from '../shared/logger.ts';
import { decide, nameOf, type Wanted } from './access-policy.ts';
import { isLoopbackAddress } from './access.ts';
import type { Identities } from './identity.ts';

/** What the sign-in page loads: open to everyone, as are /login, /auth/login and /healthz. */
const PUBLIC = new Set(['/login', '/auth/login', '/healthz', '/assets/base.css', '/assets/client.js', '/assets/login.js']);
const SAFE = new Set(['GET', 'HEAD', 'OPTIONS']);

/** Which family a route of the supervisor's own app is in (docs/architecture.md, "Who may do what"). */
export function wantedOf(method: string, path: string, loopbackPeer: boolean): Wanted {
  if (PUBLIC.has(path)) return { kind: 'public' };
  if (path === '/metrics') return { kind: 'metrics', loopbackPeer };
  if (path === '/admin' || path === '/assets/admin.js' || path.startsWith('/supervisor/api/users') || path === '/supervisor/api/current') return { kind: 'admin' };
  const worker = /^\/supervisor\/api\/(?:workers|profiles)\/([^/]+)/.exec(path);
  if (worker) {
    const handle = parseHandle(decodeURIComponent(worker[1]!));
    // An invalid handle is the route's own 400; nothing to decide on.
    if (!handle) return { kind: 'signed-in' };
    return method === 'DELETE' ? { kind: 'delete', handle } : { kind: 'worker', handle };
  }
  if (path === '/supervisor/api/workers') return { kind: 'workers' };
  return { kind: 'signed-in' };
}

/** Who is asking (`ctx.state.identity`), whether they may, and one audit line for every state-changing
 *  request — for the supervisor's own routes, as `ProxyGate` does for the proxied ones. */
export function appAccess(identities: Identities, log: Logger): Middleware {
  return async (ctx, next) => {
    const identity = await identities.of(ctx.req);
    ctx.state.identity = identity;
    const wanted = wantedOf(ctx.method, ctx.path, isLoopbackAddress(ctx.req.socket.remoteAddress));
    const decision = decide(identity, wanted, (h) => identities.users.owner(h));
    if (!decision.allow) {
      if (decision.status === 401 && ctx.method === 'GET' && ctx.accepts(['json', 'html']) === 'html') {
        ctx.status = 303;
        ctx.redirect(`/login?next=${encodeURIComponent(ctx.originalUrl)}`);
        return;
      }
      if (decision.status === 401) ctx.set('www-authenticate', 'Bearer');
      if (!SAFE.has(ctx.method)) log.info({ audit: true, user: nameOf(identity), method: ctx.method, path: ctx.path, status: decision.status }, 'request refused');
      throw new ApiError(decision.status, decision.code, decision.message);
    }
    if (SAFE.has(ctx.method) || wanted.kind === 'public') return next();
    return audited(ctx, next, log, { user: nameOf(identity), profile: 'handle' in wanted ? wanted.handle : null });
  };
}
