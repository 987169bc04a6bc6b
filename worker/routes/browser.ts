import { Router } from '../../shared/cjs-imports.ts';
import { ApiError } from '../../shared/api-error.ts';
import { requireProfile, type WorkerDeps } from '../deps.ts';
import type { ProfileServices } from '../profile-services.ts';

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
    ctx.body = { success: true, browser_ready: false };
  });

  return router;
}

/** Starts Chrome if needed and logs into the MIS with the profile's saved credentials. */
export async function loginToMis(deps: WorkerDeps, profile: ProfileServices) {
  const config = await deps.store.readBlazeConfig(profile.handle);
  if (!config.mis_username || !config.mis_password) {
    throw new ApiError(409, 'mis_credentials_missing', 'save the MIS username and password for this profile first (POST /api/save-profile-credentials)');
  }
  const misUrl = config.mis_url || deps.settings.MIS_URL;
  const page = await profile.browser.page();
  const misLogin = await profile.mis.login(page, misUrl, config.mis_username, config.mis_password);
  return { page, mis_login: misLogin, mis_url: misUrl };
}
