import type { Context, Middleware } from 'koa';
import { PAGE_HEADERS, genericErrorPage, isNavigation, renderPage, type PageFrame } from './html-page.ts';

/** A person whose browser lands on an error gets a page (the same look as the others) with the message
 *  and the way back; programs keep the JSON answer. Outside the JSON error middleware: it turns that
 *  middleware's answer into a page, so both say the same thing. */
export function errorPages(frame: (ctx: Context) => PageFrame): Middleware {
  return async function errorPages(ctx, next) {
    await next();
    if (ctx.status < 400 || ctx.respond === false) return;
    ctx.vary('accept'); // the same URL answers a page or JSON: caches must keep them apart
    if (!isNavigation(ctx.method, ctx.headers)) return;
    const body = ctx.body as { success?: unknown; error?: unknown; message?: unknown } | null | undefined;
    if (!body || typeof body !== 'object' || body.success !== false || typeof body.error !== 'string') return;
    const status = ctx.status;
    const page = genericErrorPage(status, body.error, typeof body.message === 'string' ? body.message : '', ctx.originalUrl);
    ctx.set(PAGE_HEADERS);
    ctx.type = 'html';
    ctx.body = renderPage(page, frame(ctx));
    ctx.status = status;
  };
}
