import type Koa from 'koa';
import type { Context } from 'koa';
import type { Logger } from '../runtime/logger.ts';
import { errorMiddleware } from './api-error.ts';
import { errorPages } from './error-pages.ts';
import { answerJsonWithoutWebGlobals } from './json-bodies.ts';
import type { PageFrame } from './html-page.ts';
import { sameOriginGuard } from './origin-guard.ts';

/** What both processes' Koa apps start with: JSON answers that do not load Node's fetch, JSON errors (pages for a person's browser, framed by
 *  `frame`), no MIME sniffing, no cross-site writes. */
export function useBaseMiddleware(app: Koa, log: Logger, frame: (ctx: Context) => PageFrame): void {
  app.silent = true;
  answerJsonWithoutWebGlobals(app);
  app.use(errorPages(frame));
  app.use(errorMiddleware(log));
  app.use(async function noSniffing(ctx, next) {
    ctx.set('x-content-type-options', 'nosniff');
    await next();
  });
  app.use(sameOriginGuard());
}
