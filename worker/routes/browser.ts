import { Router } from '../../shared/cjs-imports.ts';
import { requireProfile, type WorkerDeps } from '../deps.ts';
import { forgetBrowser, loginToMis } from '../remembered-work.ts';

/** This profile's Chrome and the MIS login. */
export function browserRoutes(deps: WorkerDeps): Router {
  const router = new Router({ prefix: '/api' });

  router.get('/browser-status', async (ctx) => {
    const profile = await requireProfile(deps);
    ctx.body = { success: true, ...profile.browser.status(), automation: profile.automation.running };
  });

  router.post('/init-all', async (ctx) => {
    const profile = await requireProfile(deps);
    const result = await profile.automation.run('init-all', () => loginToMis(deps, profile));
    ctx.body = { success: true, browser_ready: true, mis_login: result.mis_login, mis_url: result.mis_url };
  });

  router.post('/browser/close', async (ctx) => {
    const profile = await requireProfile(deps);
    await profile.automation.run('browser-close', () => profile.browser.close());
    await forgetBrowser(deps);
    ctx.body = { success: true, browser_ready: false };
  });

  return router;
}
