import type { Router } from '../../../shared/runtime/cjs-imports.ts';
import { allow, strictRouter } from '../../../shared/http/route-access.ts';
import { VERSION } from '../../../shared/runtime/version.ts';
import type { WorkerDeps } from '../../profile/deps.ts';

export function healthRoutes(deps: WorkerDeps): Router {
  const router = strictRouter();
  const OWN = allow({ action: 'use', handle: 'own' });
  router.get('/healthz', OWN, (ctx) => {
    ctx.body = {
      success: true,
      status: 'ok',
      profile: deps.handle,
      version: VERSION,
      session_backend: deps.settings.SESSION_BACKEND,
      browser_ready: deps.profile?.loaded?.browser.ready ?? false,
      sheets_connected: deps.profile?.loaded?.sheets.connected ?? false,
      restore: deps.restore.status,
    };
  });
  // The original's health shape, kept for its clients.
  router.get('/health', OWN, (ctx) => {
    ctx.body = { success: true, status: 'healthy', profile: deps.handle, version: VERSION, timestamp: new Date().toISOString() };
  });
  return router;
}
