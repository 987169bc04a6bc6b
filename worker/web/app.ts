import { Koa } from '../../shared/runtime/cjs-imports.ts';
import { useBaseMiddleware } from '../../shared/http/koa-base.ts';
import { SHARED_UI_ASSETS, assetsFor, staticAssets } from '../../shared/http/static-assets.ts';
import { useRoutes } from '../../shared/http/route-access.ts';
import type { WorkerDeps } from '../profile/deps.ts';
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
import type { WorkerAccess } from './access.ts';
import { workerPageFrame } from './page-frame.ts';

/** One profile's Koa app. Every route declares who may use it (`allow(…)`); `access` says who is asking
 *  and judges the declarations. */
const OWN = { action: 'use', handle: 'own' } as const;

export function createWorkerApp(deps: WorkerDeps, access: WorkerAccess): Koa {
  const app = new Koa();
  app.proxy = deps.supervised;
  useBaseMiddleware(app, deps.log, workerPageFrame(deps.handle));
  app.use(access.middleware());
  useRoutes(app, access.judge, [
    staticAssets(
      {
        '/': { file: 'worker/web/public/settings.html', access: OWN, page: { title: 'TAT-MIS · profile settings', script: 'settings.js' } },
        ...assetsFor({ ...SHARED_UI_ASSETS, '/assets/settings.js': 'worker/web/public/settings.js', '/assets/profile-list.js': 'worker/web/public/profile-list.js' }, OWN),
      },
      // Relative: the page works under the supervisor's /p/<handle>/ and on the worker's own port alike.
      { assets: 'assets/' },
    ),
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
  ]);
  return app;
}
