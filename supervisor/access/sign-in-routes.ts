import type { Router } from '../../shared/runtime/cjs-imports.ts';
import { z } from 'zod';
import { ApiError } from '../../shared/http/api-error.ts';
import { readJson } from '../../shared/http/json-body.ts';
import { audit } from '../../shared/http/audit.ts';
import type { Logger } from '../../shared/runtime/logger.ts';
import type { Settings } from '../../shared/runtime/settings.ts';
import { profilesOf } from '../../shared/access/access-rules.ts';
import { SESSION_COOKIE, cookieOf } from '../../shared/http/request-credentials.ts';
import { allow, strictRouter } from '../../shared/http/route-access.ts';
import type { Identities, Identity } from './identity.ts';
import type { SignInLimits } from './sign-in-limits.ts';
import type { SignInStore } from './sign-ins.ts';

const Credentials = z.object({ username: z.string().min(1).max(64), password: z.string().min(1).max(1024) });

/** `POST /auth/login`, `POST /auth/logout`, `GET /auth/me`. One answer, in the same time, for an unknown
 *  name and a wrong password; after repeated failures from a client address, a pause (429) that even the
 *  right password does not shorten. A new session id at every sign-in. */
export function signInRoutes(options: { settings: Settings; identities: Identities; signIns: SignInStore | null; limits: SignInLimits; log: Logger }): Router {
  const { settings, identities, signIns, limits, log } = options;
  const router = strictRouter();
  const secure = settings.PUBLIC_URL.startsWith('https:');
  const cookie = (value: string, maxAgeSeconds: number) =>
    `${SESSION_COOKIE}=${value}; HttpOnly; SameSite=Lax; Path=/; Max-Age=${maxAgeSeconds}${secure ? '; Secure' : ''}`;

  router.post('/auth/login', allow({ action: 'public' }), async (ctx) => {
    if (settings.AUTH !== 'local' || !signIns) throw new ApiError(409, 'invalid_state', settings.AUTH === 'proxy' ? 'people sign in at the proxy in front of this server (AUTH=proxy)' : 'sign-in is off (AUTH=none)');
    const { username, password } = await readJson(ctx, Credentials);
    const name = username.trim().toLowerCase();
    // Counted before the password is checked, so that guesses in parallel are counted too.
    const attempt = limits.begin(identities.client(ctx.req).address);
    if ('retryAfterSeconds' in attempt) {
      ctx.set('retry-after', String(attempt.retryAfterSeconds));
      audit(log, { user: name, method: 'POST', path: '/auth/login', status: 429 }, 'sign-in refused: too many failed attempts', 'warn');
      throw new ApiError(429, 'too_many_attempts', `too many failed sign-ins from this address: try again in ${attempt.retryAfterSeconds < 120 ? `${attempt.retryAfterSeconds} s` : `${Math.ceil(attempt.retryAfterSeconds / 60)} minutes`}`);
    }
    let user;
    try {
      user = await identities.users.authenticate(name, password);
    } catch (error) {
      attempt.succeeded(); // not the person's failure: it does not count against them
      throw error;
    }
    if (!user) {
      attempt.failed();
      audit(log, { user: name, method: 'POST', path: '/auth/login', status: 401 }, 'sign-in failed', 'warn');
      throw new ApiError(401, 'invalid_credentials', 'the user name or the password is wrong');
    }
    attempt.succeeded();
    // A new id, whatever the client sent: a session id is never carried over from before the sign-in.
    const previous = cookieOf(ctx.get('cookie'), SESSION_COOKIE);
    if (previous) await signIns.end(previous);
    const id = await signIns.create(user.name);
    ctx.set('set-cookie', cookie(id, Math.floor(settings.AUTH_SESSION_TTL_MS / 1000)));
    audit(log, { user: user.name, method: 'POST', path: '/auth/login', status: 200 }, 'signed in');
    ctx.body = { success: true, username: user.name, admin: user.admin };
  });

  // Open to everyone: signing out needs no rights, and ends only the session its own cookie names.
  router.post('/auth/logout', allow({ action: 'public' }), async (ctx) => {
    const identity = ctx.state.identity as Identity;
    if (identity.kind === 'user' && identity.sessionId && signIns) await signIns.end(identity.sessionId);
    ctx.set('set-cookie', cookie('', 0));
    ctx.body = { success: true };
  });

  router.get('/auth/me', allow({ action: 'signed-in' }), (ctx) => {
    const identity = ctx.state.identity as Identity;
    const profiles = profilesOf(identity);
    if (identity.kind === 'user') {
      ctx.body = { success: true, username: identity.user.name, admin: identity.user.admin, profiles: identity.user.profiles, current: identity.user.current, auth: settings.AUTH };
    } else {
      ctx.body = { success: true, username: identity.kind === 'admin-token' ? 'SUPERVISOR_TOKEN' : null, admin: profiles === 'all', profiles: [], current: null, auth: settings.AUTH };
    }
  });
  return router;
}
