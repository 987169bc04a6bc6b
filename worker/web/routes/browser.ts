import type { Router } from '../../../shared/runtime/cjs-imports.ts';
import { allow, strictRouter } from '../../../shared/http/route-access.ts';
import { requireProfile, type WorkerDeps } from '../../profile/deps.ts';
import { forgetBrowser, loginToMis } from '../../work/remembered-work.ts';

/** This profile's Chrome and the MIS login. */
export function browserRoutes(deps: WorkerDeps): Router {
  const router = strictRouter();
  const OWN = allow({ action: 'use', handle: 'own' });

  router.get('/api/browser-status', OWN, async (ctx) => {
    const profile = await requireProfile(deps);
    ctx.body = { success: true, ...profile.browser.status(), automation: profile.automation.running };
  });

  router.post('/api/init-all', OWN, async (ctx) => {
    const profile = await requireProfile(deps);
    const result = await profile.automation.run('init-all', (work) => loginToMis(deps, profile, work), {
      done: (r) => (r.mis_login === 'already_logged_in' ? 'Chrome is open; the MIS session was still logged in.' : 'Chrome is open and logged into the MIS.'),
    });
    ctx.body = { success: true, browser_ready: true, mis_login: result.mis_login, mis_url: result.mis_url };
  });

  router.post('/api/browser/close', OWN, async (ctx) => {
    const profile = await requireProfile(deps);
    // Closing Chrome ends what it was doing: an automation under way is cancelled first, not waited for.
    const running = profile.automation.running;
    if (running && running !== 'restore') await profile.work.find({ name: running })?.cancel();
    await profile.automation.run('browser-close', () => profile.browser.close(), { done: () => 'Chrome closed.' });
    await forgetBrowser(deps);
    ctx.body = { success: true, browser_ready: false };
  });

  return router;
}
