import { Router } from '../../shared/cjs-imports.ts';
import type { Context } from 'koa';
import { ApiError } from '../../shared/api-error.ts';
import { requireProfile, type WorkerDeps } from '../deps.ts';

/** Google OAuth web flow for this profile (README, "Adding a profile"). Nothing blocks waiting for a person. */
export function authRoutes(deps: WorkerDeps): Router {
  const router = new Router({ prefix: '/api/auth/google' });

  router.post('/', async (ctx) => {
    const { google } = await requireProfile(deps);
    ctx.body = {
      success: true,
      auth_url: await google.authUrl(),
      redirect_uri: google.redirectUri,
      message: 'open auth_url in a browser and allow access; you come back to this server when done',
    };
  });

  router.get('/callback', async (ctx) => {
    const profile = await requireProfile(deps);
    const { code, state, error } = ctx.query;
    try {
      if (typeof error === 'string') throw new ApiError(400, 'not_authenticated', `Google did not grant access (${error}); start again from "Connect Google"`);
      if (typeof code !== 'string' || typeof state !== 'string') throw new ApiError(400, 'invalid_state', 'the sign-in answer lacks its code or state; start again from "Connect Google"');
      await profile.google.completeFlow(code, state);
      profile.sheets.reset();
    } catch (failure) {
      if (!(failure instanceof ApiError) || !wantsHtml(ctx)) throw failure;
      page(ctx, failure.status, 'Google account not connected', failure.message);
      return;
    }
    if (wantsHtml(ctx)) page(ctx, 200, 'Google account connected', `The Google account is now connected to the profile "${profile.handle}". You can close this tab.`);
    else ctx.body = { success: true, handle: profile.handle, authenticated: true };
  });

  return router;
}

function wantsHtml(ctx: Context): boolean {
  return ctx.accepts('json', 'html') === 'html';
}

function page(ctx: Context, status: number, title: string, text: string): void {
  ctx.status = status;
  ctx.type = 'html';
  ctx.body = `<!doctype html><html lang="en"><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>${escapeHtml(title)}</title><body style="font-family:system-ui,sans-serif;max-width:40rem;margin:3rem auto;padding:0 1rem">
<h1>${escapeHtml(title)}</h1><p>${escapeHtml(text)}</p><p><a href="../../../">Back to the profile settings</a></p></body></html>`;
}

export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}
