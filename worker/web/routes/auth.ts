import type { Router } from '../../../shared/runtime/cjs-imports.ts';
import { allow, strictRouter } from '../../../shared/http/route-access.ts';
import type { Context } from 'koa';
import { ApiError } from '../../../shared/http/api-error.ts';
import { isNavigation, PAGE_HEADERS, renderPage, type PageContent } from '../../../shared/http/html-page.ts';
import { profilePrefix } from '../../../shared/profiles/profile-url.ts';
import { requireProfile, type WorkerDeps } from '../../profile/deps.ts';
import { workerPageFrame } from '../page-frame.ts';
import type { ProfileServices } from '../../profile/profile-services.ts';
import { WORK_LIMITS_MS, type Work } from '../../work/work-in-progress.ts';

/** Google OAuth web flow for this profile (README, "Adding a profile"). Nothing blocks waiting for a
 *  person: the sign-in under way is a piece of work (`google-connect`) that the profile page follows, and
 *  that ends with the callback, a cancel, or the link's expiry. */
export function authRoutes(deps: WorkerDeps): Router {
  const router = strictRouter();
  const OWN = allow({ action: 'use', handle: 'own' });
  const frame = workerPageFrame(deps.handle);

  router.post('/api/auth/google', OWN, async (ctx) => {
    const profile = await requireProfile(deps);
    const authUrl = await profile.google.authUrl();
    connecting(profile).stage('waiting for you to allow access in the Google tab');
    ctx.body = {
      success: true,
      auth_url: authUrl,
      redirect_uri: profile.google.redirectUri,
      message: 'open auth_url in a browser and allow access; you come back to this server when done',
    };
  });

  router.get('/api/auth/google/callback', OWN, async (ctx) => {
    const profile = await requireProfile(deps);
    const { code, state, error } = ctx.query;
    const work = profile.work.find({ name: 'google-connect' });
    try {
      if (typeof error === 'string') throw new ApiError(400, 'not_authenticated', `Google did not grant access (${error}); start again from "Connect Google"`);
      if (typeof code !== 'string' || typeof state !== 'string') throw new ApiError(400, 'invalid_state', 'the sign-in answer lacks its code or state; start again from "Connect Google"');
      work?.stage('exchanging the code with Google');
      await profile.google.completeFlow(code, state);
      profile.sheets.reset();
    } catch (failure) {
      if (work && failure instanceof ApiError) {
        if (failure.code === 'google_unreachable') work.stage('Google could not be reached: try again from the Google tab');
        else profile.work.finish(work, 'failed', failure.message);
      }
      if (!(failure instanceof ApiError) || !isNavigation(ctx.method, ctx.headers)) throw failure;
      page(ctx, failurePage(failure, profile, ctx));
      return;
    }
    if (work) profile.work.finish(work, 'done', 'Google account connected.');
    deps.events.publish({ type: 'google', authenticated: true });
    if (isNavigation(ctx.method, ctx.headers)) {
      page(ctx, {
        status: 200,
        code: 'connected',
        title: 'Google account connected',
        lead: `The Google account is now connected to the profile "${profile.handle}". You can close this tab: the profile's page has noticed.`,
        actions: [{ label: `Back to the page of ${profile.handle}`, href: frame(ctx).home.href, primary: true }],
      });
    } else ctx.body = { success: true, handle: profile.handle, authenticated: true };
  });

  /** The sign-in under way, begun now if none is: it ends at the latest when its link expires. */
  function connecting(profile: ProfileServices): Work {
    const running = profile.work.find({ name: 'google-connect' });
    if (running) return running;
    const work = profile.work.begin('google-connect');
    work.onCancel(() => profile.google.forgetPendingSignIns());
    const expiry = setTimeout(() => profile.work.finish(work, 'failed', 'the Google sign-in link expired; start again from "Connect Google"'), WORK_LIMITS_MS['google-connect']);
    expiry.unref();
    work.signal.addEventListener('abort', () => {
      clearTimeout(expiry);
      profile.work.finish(work, 'cancelled', 'Connecting Google was cancelled; the sign-in link no longer works.');
    });
    return work;
  }

  function page(ctx: Context, content: PageContent): void {
    ctx.status = content.status;
    ctx.set(PAGE_HEADERS);
    ctx.type = 'html';
    ctx.body = renderPage(content, frame(ctx));
  }

  function failurePage(failure: ApiError, profile: ProfileServices, ctx: Context): PageContent {
    const home = { label: `Back to the page of ${profile.handle}`, href: frame(ctx).home.href };
    if (failure.code === 'google_unreachable') {
      const host = typeof failure.extra.host === 'string' ? failure.extra.host : 'Google';
      return {
        status: 502,
        code: failure.code,
        title: 'Google could not be reached',
        lead: `You allowed access, but ${failure.message}, so the account is not connected yet.`,
        steps: [
          `Check that this server can reach \`${host}\`: its network connection, its DNS, or the proxy it must use to go out.`,
          'Then press "Try again" within a few minutes (Google keeps what you allowed only briefly); after that, connect again from the profile\'s page.',
        ],
        actions: [{ label: 'Try again', href: ctx.originalUrl.replace(/^.*\//, ''), primary: true }, home],
      };
    }
    return {
      status: failure.status,
      code: failure.code,
      title: 'Google account not connected',
      lead: failure.message,
      steps: [`Start again from "Connect Google" on the profile's page (or \`POST ${deps.handle ? profilePrefix(deps.handle) : ''}/api/auth/google\`).`],
      actions: [{ ...home, primary: true }],
    };
  }

  return router;
}
