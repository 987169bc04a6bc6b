import Koa from 'koa';
import { useBaseMiddleware } from '../shared/koa-base.ts';
import type { Registry } from 'prom-client';
import type { Logger } from '../shared/logger.ts';
import { supervisorApi } from './api.ts';
import type { Supervisor } from './supervisor.ts';
import { SHARED_UI_ASSETS, staticAssets } from '../shared/static-assets.ts';

/** The supervisor's own pages and API (everything that is not proxied). */
export function createSupervisorApp(
  supervisor: Supervisor,
  options: { log: Logger; token: string | undefined; startedAt: number; metrics: Registry },
): Koa {
  const app = new Koa();
  useBaseMiddleware(app, options.log);
  app.use(async (ctx, next) => {
    if (ctx.path !== '/metrics' || ctx.method !== 'GET') return next();
    ctx.type = options.metrics.contentType;
    ctx.body = await options.metrics.metrics();
  });
  app.use(
    staticAssets({
      '/': 'supervisor/public/dashboard.html',
      ...SHARED_UI_ASSETS,
      '/assets/dashboard.js': 'supervisor/public/dashboard.js',
    }),
  );
  for (const router of [supervisorApi(supervisor, options)]) {
    app.use(router.routes());
    app.use(router.allowedMethods());
  }
  return app;
}
