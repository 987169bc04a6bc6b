import Koa from 'koa';
import type { Registry } from 'prom-client';
import { errorMiddleware } from '../shared/api-error.ts';
import type { Logger } from '../shared/logger.ts';
import { sameOriginGuard } from '../shared/origin-guard.ts';
import { supervisorApi } from './api.ts';
import type { Supervisor } from './supervisor.ts';
import { staticAssets } from '../shared/static-assets.ts';

/** The supervisor's own pages and API (everything that is not proxied). */
export function createSupervisorApp(
  supervisor: Supervisor,
  options: { log: Logger; token: string | undefined; startedAt: number; metrics: Registry },
): Koa {
  const app = new Koa();
  app.silent = true;
  app.use(errorMiddleware(options.log));
  app.use(async (ctx, next) => {
    ctx.set('x-content-type-options', 'nosniff');
    await next();
  });
  app.use(sameOriginGuard());
  app.use(async (ctx, next) => {
    if (ctx.path !== '/metrics' || ctx.method !== 'GET') return next();
    ctx.type = options.metrics.contentType;
    ctx.body = await options.metrics.metrics();
  });
  app.use(
    staticAssets({
      '/': 'supervisor/public/dashboard.html',
      '/assets/base.css': 'shared/ui/base.css',
      '/assets/client.js': 'shared/ui/client.js',
      '/assets/dashboard.js': 'supervisor/public/dashboard.js',
    }),
  );
  for (const router of [supervisorApi(supervisor, options)]) {
    app.use(router.routes());
    app.use(router.allowedMethods());
  }
  return app;
}
