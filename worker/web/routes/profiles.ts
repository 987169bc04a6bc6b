import type { Context } from 'koa';
import type { Router } from '../../../shared/runtime/cjs-imports.ts';
import { ApiError } from '../../../shared/http/api-error.ts';
import { requireHandle } from '../../../shared/http/json-body.ts';
import type { Handle } from '../../../shared/profiles/handle.ts';
import { NAMED_PROFILE_ROUTES as NAMED } from '../../../shared/access/profile-routes.ts';
import { allow, strictRouter } from '../../../shared/http/route-access.ts';
import type { WorkerDeps } from '../../profile/deps.ts';
import { profilePrefix } from '../../../shared/profiles/profile-url.ts';
import { shownPath } from '../../../shared/profiles/paths.ts';
import type { Who } from '../access.ts';
import { profileFiles } from '../../profile/profile-files.ts';

/** The guide's profile API (README, "API"). Any worker may register, switch or delete any profile: they all
 *  act on the same config dir, and the supervisor follows the files. The routes that name a profile come from
 *  `shared/access/profile-routes.ts`, which the supervisor decides on too; their declarations read the body, and
 *  the handlers take the handle the decision was made on. */
export function profileRoutes(deps: WorkerDeps): Router {
  const { store } = deps;
  const router = strictRouter();
  const OWN = allow({ action: 'use', handle: 'own' });
  const named = (ctx: Context) => requireHandle((ctx.state.body as { handle?: unknown }).handle);

  /** Where a handle's credentials file must be: relative to the config dir, and as a person is told to put it
   *  (`config/…` under the project's own config dir, else the full path). */
  const credentialsFile = (handle: Handle) => {
    const file = store.profilePaths(handle).credentials;
    return { expected_path: store.relative(file), file: shownPath(store.paths.configDir, file) };
  };
  const credentialsMissing = (handle: Handle) => {
    const where = credentialsFile(handle);
    return new ApiError(
      404,
      'credentials_not_found',
      `Google OAuth credentials for "${handle}" not found: download the OAuth client JSON from Google Cloud Console and save it as ${where.file}`,
      where,
    );
  };

  router.get('/api/profiles', allow({ action: 'signed-in' }), async (ctx) => {
    // With sign-in, a person sees only the profiles they may use (the supervisor says which).
    const grants = (ctx.state.who as Who).grants;
    const profiles = (await store.list()).filter((p) => grants === 'all' || grants.includes(p.handle));
    ctx.body = {
      success: true,
      current: deps.handle,
      profiles: profiles.map((p) => ({ ...p, is_active: p.handle === deps.handle })),
    };
  });

  router.get('/api/profile/current', OWN, async (ctx) => {
    if (deps.handle === null) {
      ctx.body = { success: true, handle: null, has_credentials: false, authenticated: false, first_run: true };
      return;
    }
    const { handle, has_credentials, authenticated } = await store.summary(deps.handle);
    ctx.body = { success: true, handle, has_credentials, authenticated };
  });

  // This profile's files, each readable or not, with the fix for one that is not (its page shows them).
  router.get('/api/profile/files', OWN, async (ctx) => {
    if (deps.handle === null) throw new ApiError(409, 'no_active_profile', 'no profile yet: register one first (POST /api/profile/register)');
    ctx.body = { success: true, handle: deps.handle, ...(await profileFiles(store, deps.handle, deps.apiBase)) };
  });

  router.get(NAMED.checkCredentials.path, allow(NAMED.checkCredentials.access), async (ctx) => {
    const handle = requireHandle(ctx.params.handle);
    ctx.body = {
      success: true,
      handle,
      exists: await store.hasCredentials(handle),
      ...credentialsFile(handle),
    };
  });

  router.post(NAMED.register.path, allow(NAMED.register.access), async (ctx) => {
    const handle = named(ctx);
    if (!(await store.hasCredentials(handle))) throw credentialsMissing(handle);
    // What a deleted profile left under this handle goes only to someone it was granted to, or an admin.
    const who = ctx.state.who as Who;
    const kept = who.grants === 'all' || who.grants.includes(handle) ? [] : await store.keptFiles(handle);
    if (kept.length > 0) {
      throw new ApiError(403, 'forbidden', `"${handle}" was a profile before, and its files are kept (${kept.join(', ')}): only an admin, or someone it is granted to, may register it again`);
    }
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

  router.post(NAMED.switch.path, allow(NAMED.switch.access), async (ctx) => {
    const handle = named(ctx);
    if (!(await store.isValid(handle))) {
      throw new ApiError(404, 'profile_not_found', `profile "${handle}" is not registered or its credentials file is missing`);
    }
    await store.writeLastProfile(handle);
    const who = ctx.state.who as Who;
    deps.log.info({ user: who.user, target: handle }, 'switched current profile');
    deps.notify({ type: 'switch', handle, by: who.user });
    ctx.body = {
      success: true,
      handle,
      requires_restart: true,
      message: deps.supervised
        ? `switched: the guide's /api/… now goes to "${handle}"; the supervisor restarts its worker, nothing else to do`
        : `switched to "${handle}"; restart this server for it to take effect`,
    };
  });

  router.post(NAMED.delete.path, allow(NAMED.delete.access), async (ctx) => {
    const handle = named(ctx);
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
