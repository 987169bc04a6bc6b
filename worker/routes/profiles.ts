import { Router } from '../../shared/cjs-imports.ts';
import { z } from 'zod';
import { ApiError } from '../../shared/api-error.ts';
import { readJson, requireHandle } from '../../shared/json-body.ts';
import type { Handle } from '../../shared/handle.ts';
import type { WorkerDeps } from '../deps.ts';
import { profilePrefix } from '../../shared/profile-url.ts';
import type { Who } from '../access.ts';
import { profileFiles } from '../profile-files.ts';

const HandleBody = z.object({ handle: z.unknown().optional() });

/** The guide's profile API (README, "API"). Any worker may register, switch or delete any profile: they all
 *  act on the same config dir, and the supervisor follows the files. */
export function profileRoutes(deps: WorkerDeps): Router {
  const { store } = deps;
  const router = new Router({ prefix: '/api' });

  const credentialsMissing = (handle: Handle) => {
    const expected = store.relative(store.profilePaths(handle).credentials);
    return new ApiError(
      404,
      'credentials_not_found',
      `Google OAuth credentials for "${handle}" not found: download the OAuth client JSON from Google Cloud Console and save it as ${expected} in the config dir`,
      { expected_path: expected },
    );
  };

  router.get('/profiles', async (ctx) => {
    // With sign-in, a person sees only the profiles they may use (the supervisor says which).
    const grants = (ctx.state.who as Who).grants;
    const profiles = (await store.list()).filter((p) => grants === 'all' || grants.includes(p.handle));
    ctx.body = {
      success: true,
      current: deps.handle,
      profiles: profiles.map((p) => ({ ...p, is_active: p.handle === deps.handle })),
    };
  });

  router.get('/profile/current', async (ctx) => {
    if (deps.handle === null) {
      ctx.body = { success: true, handle: null, has_credentials: false, authenticated: false, first_run: true };
      return;
    }
    const { handle, has_credentials, authenticated } = await store.summary(deps.handle);
    ctx.body = { success: true, handle, has_credentials, authenticated };
  });

  // This profile's files, each readable or not, with the fix for one that is not (its page shows them).
  router.get('/profile/files', async (ctx) => {
    if (deps.handle === null) throw new ApiError(409, 'no_active_profile', 'no profile yet: register one first (POST /api/profile/register)');
    ctx.body = { success: true, handle: deps.handle, ...(await profileFiles(store, deps.handle, deps.apiBase)) };
  });

  router.get('/profile/check-credentials/:handle', async (ctx) => {
    const handle = requireHandle(ctx.params.handle);
    ctx.body = {
      success: true,
      handle,
      exists: await store.hasCredentials(handle),
      expected_path: store.relative(store.profilePaths(handle).credentials),
    };
  });

  router.post('/profile/register', async (ctx) => {
    const handle = requireHandle((await readJson(ctx, HandleBody)).handle);
    if (!(await store.hasCredentials(handle))) throw credentialsMissing(handle);
    if (!(await store.createPlaceholderToken(handle))) {
      throw new ApiError(409, 'profile_exists', `profile "${handle}" is already registered`);
    }
    try {
      await store.ensureBlazeConfig(handle);
      await store.ensureProfileDirs(handle);
      await store.writeLastProfile(handle);
    } catch (error) {
      // Undo the half-made registration so that trying again is possible.
      await store.deleteToken(handle).catch(() => {});
      throw error;
    }
    deps.log.info({ user: (ctx.state.who as Who).user, target: handle }, 'profile registered');
    ctx.status = 201;
    ctx.body = {
      success: true,
      handle,
      url: `${profilePrefix(handle)}/`,
      message: deps.supervised
        ? `profile "${handle}" registered, and the guide's /api/… now goes to it; next: connect its Google account on its page (${profilePrefix(handle)}/) or with POST ${profilePrefix(handle)}/api/auth/google`
        : `profile "${handle}" registered and made current for the next start of this server; then connect Google with POST /api/auth/google`,
    };
  });

  router.post('/profile/switch', async (ctx) => {
    const handle = requireHandle((await readJson(ctx, HandleBody)).handle);
    if (!(await store.isValid(handle))) {
      throw new ApiError(404, 'profile_not_found', `profile "${handle}" is not registered or its credentials file is missing`);
    }
    await store.writeLastProfile(handle);
    deps.log.info({ user: (ctx.state.who as Who).user, target: handle }, 'switched current profile');
    deps.notify({ type: 'switch', handle });
    ctx.body = {
      success: true,
      handle,
      requires_restart: true,
      message: deps.supervised
        ? `switched: the guide's /api/… now goes to "${handle}"; the supervisor restarts its worker, nothing else to do`
        : `switched to "${handle}"; restart this server for it to take effect`,
    };
  });

  router.post('/profile/delete', async (ctx) => {
    const handle = requireHandle((await readJson(ctx, HandleBody)).handle);
    if (handle === deps.handle) {
      throw new ApiError(409, 'cannot_delete_active_profile', `"${handle}" is the profile this server runs; delete it from another profile or the dashboard`);
    }
    if (!(await store.deleteToken(handle))) {
      throw new ApiError(404, 'profile_not_found', `profile "${handle}" is not registered`);
    }
    deps.log.info({ user: (ctx.state.who as Who).user, target: handle }, 'profile deleted (token file removed; credentials and blaze config kept)');
    ctx.body = {
      success: true,
      handle,
      message: `profile "${handle}" deleted; its credentials and blaze config files were kept for re-registration`,
    };
  });

  return router;
}
