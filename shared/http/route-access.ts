import type Koa from 'koa';
import type { Context, Middleware, Next } from 'koa';
import type { z } from 'zod';
import { Router } from '../runtime/cjs-imports.ts';
import type { Action } from '../access/access-rules.ts';
import { isSafeMethod } from './methods.ts';
import type { Handle } from '../profiles/handle.ts';
import type { Refusal } from './refusal.ts';
import { readJson, requireHandle } from './json-body.ts';

/** Where a route finds the profile it acts on: a path parameter, a field of its JSON body, or the worker's
 *  own profile. */
export type HandleFrom = { param: string } | { body: string } | 'own';

/** What a route declares, next to its definition (docs/architecture.md, "Who may do what"): the action it
 *  lets someone do, the profile it acts on, and — when the decision reads the body — the body's schema. The
 *  body is then read once, here, and the handler takes it from `ctx.state.body`. */
export interface RouteAccess {
  action: Action;
  handle?: HandleFrom;
  body?: z.ZodType;
}

/** What each app supplies: who is asking and whether they may (answering the refusal itself), and the
 *  audit line of a change that was allowed. */
export interface RouteJudge {
  /** Resolves true when the request may go on; false when it was refused (the answer is written). */
  admit(ctx: Context, access: RouteAccess, handle: Handle | 'own' | null): boolean | Promise<boolean>;
  /** Runs the allowed, state-changing request and writes its audit line. */
  audited(ctx: Context, next: Next, handle: Handle | 'own' | null): Promise<void>;
  /** Answers a refusal that no decision made (a route that declares nothing). */
  refuse(ctx: Context, refusal: Refusal): void;
}

const DECLARED = Symbol('route access');

/** Routers of both apps match exactly: case-sensitive, a trailing slash is another path. Another spelling of
 *  a route is a 404, never the same route under a rule that was keyed on the canonical spelling. */
export function strictRouter(): Router {
  return new Router({ sensitive: true, strict: true });
}

/** The declaration a route's middleware starts with: who may use it. */
export function allow(access: RouteAccess): Middleware {
  const declared: Middleware = async (ctx, next) => {
    const judge = ctx.state.judge as RouteJudge;
    const handle = await handleOf(ctx, access);
    if (!(await judge.admit(ctx, access, handle))) return;
    if (isSafeMethod(ctx.method) || access.action === 'public') return next();
    return judge.audited(ctx, next, handle);
  };
  (declared as Middleware & { [DECLARED]?: RouteAccess })[DECLARED] = access;
  return declared;
}

/** The access a middleware declares, if it is a declaration. */
export function declaredAccess(middleware: unknown): RouteAccess | undefined {
  return (middleware as { [DECLARED]?: RouteAccess } | null)?.[DECLARED];
}

/** Refused to everyone: what a route that states nothing gets (default deny). */
const undeclared: Middleware = (ctx) => {
  (ctx.state.judge as RouteJudge).refuse(ctx, { status: 403, code: 'forbidden', message: 'this route declares no access rule, so it is open to no one' });
};

/** Mounts routers on an app behind `judge`. A route whose first middleware is not an `allow(…)` declaration
 *  is refused to everyone. */
export function useRoutes(app: Koa, judge: RouteJudge, routers: Router[]): void {
  app.use(function judgeOfThisApp(ctx, next) {
    ctx.state.judge = judge;
    return next();
  });
  // A path that is a route, asked with another method: 405 (in JSON, like every error), and nothing else —
  // no `Allow` list or OPTIONS answer that no declaration covers.
  app.use(async function wrongMethod(ctx, next) {
    await next();
    const matched = (ctx as { matched?: { methods: string[] }[] }).matched ?? [];
    if (ctx.status === 404 && ctx.body === undefined && ctx.respond !== false && matched.some((layer) => layer.methods.length > 0)) ctx.status = 405;
  });
  for (const router of routers) {
    for (const layer of router.stack) if (!declaredAccess(layer.stack[0])) layer.stack.unshift(undeclared);
    app.use(router.routes());
  }
}

/** Every route of an app with what it declares (`undefined`: nothing), for the test that walks them. */
export function routesOf(app: Koa): { methods: string[]; path: string; access: RouteAccess | undefined }[] {
  const out: { methods: string[]; path: string; access: RouteAccess | undefined }[] = [];
  for (const middleware of app.middleware) {
    const router = (middleware as { router?: Router }).router;
    if (!router) continue;
    for (const layer of router.stack) out.push({ methods: layer.methods, path: String(layer.path), access: declaredAccess(layer.stack[0]) });
  }
  return out;
}

async function handleOf(ctx: Context, access: RouteAccess): Promise<Handle | 'own' | null> {
  const from = access.handle;
  if (!from) return null;
  if (from === 'own') return 'own';
  if ('param' in from) return requireHandle(ctx.params[from.param]);
  if (!access.body) throw new Error(`a route that takes its handle from the body declares the body's schema`);
  const body = (await readJson(ctx, access.body)) as Record<string, unknown>;
  ctx.state.body = body;
  return requireHandle(body[from.body]);
}
