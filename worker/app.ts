import Koa from 'koa';
import { errorMiddleware } from '../shared/api-error.ts';
import { sameOriginGuard } from '../shared/origin-guard.ts';
import { staticAssets } from '../shared/static-assets.ts';
import type { WorkerDeps } from './deps.ts';
import { healthRoutes } from './routes/health.ts';
import { profileRoutes } from './routes/profiles.ts';
import { credentialRoutes } from './routes/credentials.ts';
import { authRoutes } from './routes/auth.ts';
import { browserRoutes } from './routes/browser.ts';
import { misRoutes } from './routes/mis.ts';
import { sheetsRoutes } from './routes/sheets.ts';
import { sessionRoutes } from './routes/session.ts';

export function createWorkerApp(deps: WorkerDeps): Koa {
  const app = new Koa();
  app.proxy = deps.supervised;
  app.silent = true;
  app.use(errorMiddleware(deps.log));
  app.use(async (ctx, next) => {
    ctx.set('x-content-type-options', 'nosniff');
    await next();
  });
  app.use(sameOriginGuard());
  app.use(
    staticAssets({
      '/': 'worker/public/settings.html',
      '/assets/base.css': 'shared/ui/base.css',
      '/assets/client.js': 'shared/ui/client.js',
      '/assets/settings.js': 'worker/public/settings.js',
    }),
  );
  const routers = [
    healthRoutes(deps),
    profileRoutes(deps),
    credentialRoutes(deps),
    authRoutes(deps),
    browserRoutes(deps),
    misRoutes(deps),
    sheetsRoutes(deps),
    sessionRoutes(deps),
  ];
  for (const router of routers) {
    app.use(router.routes());
    app.use(router.allowedMethods());
  }
  return app;
}
