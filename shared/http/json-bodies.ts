import type Koa from 'koa';

/** Koa asks of a `ctx.body = {…}`, when it is set and again when it is sent, `instanceof ReadableStream /
 *  Blob / Response` before it settles on JSON; `Response` is one of Node's lazy globals, and reading it loads
 *  Node's own fetch (undici): memory and ~10 ms of CPU in every process on its first JSON answer, for a check
 *  a plain object or array never passes. Here the response takes Koa's own JSON branch for those at once (the
 *  same headers and status Koa sets; `ctx.body` still reads the object), and the outermost middleware — to be
 *  installed first — sends them as Koa would, `JSON.stringify`, as a string. Every other value is Koa's. */
export function answerJsonWithoutWebGlobals(app: Koa): void {
  app.use(async function jsonAsText(ctx, next) {
    await next();
    if (isPlainJson(ctx.body)) ctx.body = JSON.stringify(ctx.body);
  });
  const koaBody = findBodyAccessor(app.response);
  Object.defineProperty(app.response, 'body', {
    configurable: true,
    enumerable: koaBody.enumerable ?? false,
    get: koaBody.get,
    set(this: KoaResponseInternals, val: unknown) {
      if (!isPlainJson(val) || isStreamLike(this._body)) return koaBody.set!.call(this, val);
      this._body = val;
      if (!this._explicitStatus) this.status = 200;
      this.remove('Content-Length');
      if (!this.type || !/\bjson\b/i.test(this.type)) this.type = 'json';
    },
  });
}

/** What Koa's response keeps of the body and status (koa/lib/response.js). */
interface KoaResponseInternals extends Koa.Response {
  _body: unknown;
  _explicitStatus?: boolean;
}

function findBodyAccessor(response: object): PropertyDescriptor {
  for (let proto: object | null = response; proto; proto = Object.getPrototypeOf(proto)) {
    const descriptor = Object.getOwnPropertyDescriptor(proto, 'body');
    if (descriptor?.set) return descriptor;
  }
  throw new Error("Koa's response has no body setter");
}

function isPlainJson(val: unknown): boolean {
  if (val === null || typeof val !== 'object') return false;
  const proto = Object.getPrototypeOf(val);
  return proto === Object.prototype || proto === null || Array.isArray(val);
}

/** A body Koa must clean up when it is replaced (a stream): its own setter does that. */
function isStreamLike(val: unknown): boolean {
  return val !== null && typeof val === 'object' && typeof (val as { pipe?: unknown }).pipe === 'function';
}
