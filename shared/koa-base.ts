import type Koa from 'koa';
import type { Logger } from './logger.ts';
import { errorMiddleware } from './api-error.ts';
import { sameOriginGuard } from './origin-guard.ts';

/** What both processes' Koa apps start with: JSON errors, no MIME sniffing, no cross-site writes. */
export function useBaseMiddleware(app: Koa, log: Logger): void {
  app.silent = true;
  app.use(errorMiddleware(log));
  app.use(async (ctx, next) => {
    ctx.set('x-content-type-options', 'nosniff');
    await next();
  });
  app.use(sameOriginGuard());
}
