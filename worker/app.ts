import Koa from 'koa';
import { useBaseMiddleware } from '../shared/koa-base.ts';
import { SHARED_UI_ASSETS, staticAssets } from '../shared/static-assets.ts';
import type { WorkerDeps } from './deps.ts';
import { healthRoutes } from './routes/health.ts';
import { profileRoutes } from './routes/profiles.ts';
import { credentialRoutes } from './routes/credentials.ts';
import { authRoutes } from './routes/auth.ts';
import { browserRoutes } from './routes/browser.ts';
import { misRoutes } from './routes/mis.ts';
import { sheetsRoutes } from './routes/sheets.ts';
import { sessionRoutes } from './routes/session.ts';
import { eventRoutes } from './routes/events.ts';
import { workRoutes } from './routes/work.ts';
import { workerAccess } from './access.ts';
import { workerPageFrame } from './page-frame.ts';

export function createWorkerApp(deps: WorkerDeps): Koa {
  const app = new Koa();
  app.proxy = deps.supervised;
  useBaseMiddleware(app, deps.log, workerPageFrame(deps.handle));
  app.use(workerAccess(deps));
  app.use(
    staticAssets({
      '/': 'worker/public/settings.html',
      ...SHARED_UI_ASSETS,
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
    eventRoutes(deps),
    workRoutes(deps),
  ];
  for (const router of routers) {
    app.use(router.routes());
    app.use(router.allowedMethods());
  }
  return app;
}
