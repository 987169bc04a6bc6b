import Koa from 'koa';
import { useBaseMiddleware } from '../shared/koa-base.ts';
import type { Registry } from 'prom-client';
import type { Logger } from '../shared/logger.ts';
import { supervisorApi } from './api.ts';
import { dashboardEvents } from './dashboard-events.ts';
import type { Supervisor } from './supervisor.ts';
import { SHARED_UI_ASSETS, staticAssets } from '../shared/static-assets.ts';
import type { Settings } from '../shared/settings.ts';
import { appAccess } from './app-access.ts';
import type { Identities } from './identity.ts';
import { signInRoutes } from './sign-in-routes.ts';
import type { SignInLimits } from './sign-in-limits.ts';
import type { SignInStore } from './sign-ins.ts';
import { usersApi } from './users-api.ts';
import { SUPERVISOR_FRAME } from './landing-pages.ts';

export interface SupervisorAppOptions {
  log: Logger;
  settings: Settings;
  startedAt: number;
  metrics: Registry;
  identities: Identities;
  signIns: SignInStore | null;
  limits: SignInLimits;
}

/** The supervisor's own pages and API (everything that is not proxied), behind the access policy. */
export function createSupervisorApp(supervisor: Supervisor, options: SupervisorAppOptions): Koa {
  const app = new Koa();
  useBaseMiddleware(app, options.log, () => SUPERVISOR_FRAME);
  app.use(appAccess(options.identities, options.log));
  app.use(async (ctx, next) => {
    if (ctx.path !== '/metrics' || ctx.method !== 'GET') return next();
    ctx.type = options.metrics.contentType;
    ctx.body = await options.metrics.metrics();
  });
  app.use(
    staticAssets({
      '/': 'supervisor/public/dashboard.html',
      '/login': 'supervisor/public/login.html',
      '/admin': 'supervisor/public/admin.html',
      '/logs': 'supervisor/public/logs.html',
      ...SHARED_UI_ASSETS,
      '/assets/dashboard.js': 'supervisor/public/dashboard.js',
      '/assets/login.js': 'supervisor/public/login.js',
      '/assets/admin.js': 'supervisor/public/admin.js',
      '/assets/logs.js': 'supervisor/public/logs.js',
      '/assets/logs.css': 'supervisor/public/logs.css',
    }),
  );
  const routers = [
    supervisorApi(supervisor, options),
    dashboardEvents(supervisor),
    signInRoutes({ settings: options.settings, identities: options.identities, signIns: options.signIns, limits: options.limits, log: options.log }),
    usersApi(options.identities.users),
  ];
  for (const router of routers) {
    app.use(router.routes());
    app.use(router.allowedMethods());
  }
  return app;
}
