import { Koa } from '../../shared/runtime/cjs-imports.ts';
import { useBaseMiddleware } from '../../shared/http/koa-base.ts';
import type { Registry } from 'prom-client';
import type { Logger } from '../../shared/runtime/logger.ts';
import { supervisorApi } from './api.ts';
import { dashboardEvents } from './dashboard-events.ts';
import type { Supervisor } from '../control/supervisor.ts';
import { SHARED_UI_ASSETS, assetsFor, staticAssets } from '../../shared/http/static-assets.ts';
import type { Settings } from '../../shared/runtime/settings.ts';
import { allow, strictRouter, useRoutes, type RouteAccess } from '../../shared/http/route-access.ts';
import type { Gate } from '../access/gate.ts';
import { signInRoutes } from '../access/sign-in-routes.ts';
import type { SignInLimits } from '../access/sign-in-limits.ts';
import type { SignInStore } from '../access/sign-ins.ts';
import { usersApi } from '../access/users-api.ts';
import { SUPERVISOR_FRAME } from './landing-pages.ts';

export interface SupervisorAppOptions {
  log: Logger;
  settings: Settings;
  startedAt: number;
  metrics: Registry;
  gate: Gate;
  signIns: SignInStore | null;
  limits: SignInLimits;
}

/** The supervisor's own pages and API (everything that is not proxied). Each route declares who may use it
 *  (`allow(…)`, docs/architecture.md "Who may do what"); one that declares nothing is refused to everyone. */
export function createSupervisorApp(supervisor: Supervisor, options: SupervisorAppOptions): Koa {
  const app = new Koa();
  useBaseMiddleware(app, options.log, () => SUPERVISOR_FRAME);
  const metrics = strictRouter();
  metrics.get('/metrics', allow({ action: 'metrics' }), async (ctx) => {
    ctx.type = options.metrics.contentType;
    ctx.body = await options.metrics.metrics();
  });
  const PUBLIC = { action: 'public' } as const;
  const SIGNED_IN = { action: 'signed-in' } as const;
  const ADMIN = { action: 'admin' } as const;
  const page = (name: string, access: RouteAccess, head: { title: string; styles?: string[]; bodyClass?: string }) => ({ file: `supervisor/web/public/${name}.html`, access, page: { ...head, script: `${name}.js` } });
  const pages = staticAssets(
    {
      // What the sign-in page loads is open to everyone; the other pages to whoever they are for.
      '/login': page('login', PUBLIC, { title: 'TAT-MIS · sign in' }),
      '/': page('dashboard', SIGNED_IN, { title: 'TAT-MIS · profiles' }),
      '/logs': page('logs', SIGNED_IN, { title: 'TAT-MIS · logs', styles: ['logs.css'], bodyClass: 'logs-page' }),
      '/admin': page('admin', ADMIN, { title: 'TAT-MIS · people' }),
      ...assetsFor({ '/assets/login.js': 'supervisor/web/public/login.js', ...SHARED_UI_ASSETS }, PUBLIC),
      ...assetsFor({ '/assets/dashboard.js': 'supervisor/web/public/dashboard.js', '/assets/logs.js': 'supervisor/web/public/logs.js', '/assets/logs.css': 'supervisor/web/public/logs.css' }, SIGNED_IN),
      ...assetsFor({ '/assets/admin.js': 'supervisor/web/public/admin.js' }, ADMIN),
    },
    { assets: '/assets/' },
  );
  useRoutes(app, options.gate.judge, [
    metrics,
    pages,
    supervisorApi(supervisor, options),
    dashboardEvents(supervisor),
    signInRoutes({ settings: options.settings, identities: options.gate.identities, signIns: options.signIns, limits: options.limits, log: options.log }),
    usersApi(options.gate.identities.users),
  ]);
  return app;
}
