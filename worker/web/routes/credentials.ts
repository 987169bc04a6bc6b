import type { Router } from '../../../shared/runtime/cjs-imports.ts';
import { allow, strictRouter } from '../../../shared/http/route-access.ts';
import { ApiError } from '../../../shared/http/api-error.ts';
import { BlazeConfigPatchSchema, PasswordOriginError, publicBlazeConfig } from '../../../shared/profiles/blaze-config.ts';
import { CorruptFileError } from '../../../shared/profiles/profile-store.ts';
import { readJson } from '../../../shared/http/json-body.ts';
import type { Handle } from '../../../shared/profiles/handle.ts';
import type { WorkerDeps } from '../../profile/deps.ts';
import type { Who } from '../access.ts';
import { profileFiles } from '../../profile/profile-files.ts';
import { shownPath } from '../../../shared/profiles/paths.ts';

/** MIS/Blaze credentials of this worker's profile. Passwords go in, never out. */
export function credentialRoutes(deps: WorkerDeps): Router {
  const router = strictRouter();
  const OWN = allow({ action: 'use', handle: 'own' });

  const ownHandle = (): Handle => {
    if (deps.handle === null) {
      throw new ApiError(409, 'no_active_profile', 'no profile yet: register one first (POST /api/profile/register)');
    }
    return deps.handle;
  };

  router.get('/api/get-credentials', OWN, async (ctx) => {
    const handle = ownHandle();
    const config = await deps.store.readBlazeConfig(handle);
    const { blaze_config } = await profileFiles(deps.store, handle, deps.apiBase);
    ctx.body = {
      success: true,
      handle,
      ...publicBlazeConfig(config),
      effective_mis_url: config.mis_url || deps.settings.MIS_URL,
      effective_blaze_api_url: config.blaze_api_url || deps.settings.BLAZE_API_URL,
      // A damaged file reads as empty here: a form filled from it must not be saved over it.
      file: blaze_config,
    };
  });

  router.post('/api/blaze-config/replace-damaged', OWN, async (ctx) => {
    const handle = ownHandle();
    const aside = await deps.store.setAsideDamagedBlazeConfig(handle);
    if (!aside) throw new ApiError(409, 'invalid_state', 'the MIS / Blaze settings file is not damaged: nothing was replaced');
    const kept = shownPath(deps.store.paths.configDir, aside);
    deps.log.warn({ user: (ctx.state.who as Who).user, kept }, 'damaged blaze config replaced with an empty one; the damaged file was kept');
    ctx.body = { success: true, handle, kept, message: `the damaged file was kept as ${kept}; the settings are empty now: fill them in and save` };
  });

  router.post('/api/save-profile-credentials', OWN, async (ctx) => {
    const handle = ownHandle();
    const patch = await readJson(ctx, BlazeConfigPatchSchema);
    let saved;
    try {
      saved = await deps.store.mergeBlazeConfig(handle, patch, deps.settings);
    } catch (error) {
      if (error instanceof CorruptFileError) throw new ApiError(409, 'corrupt_file', error.message, { file: error.file });
      if (error instanceof PasswordOriginError) throw new ApiError(409, 'password_required', error.message, { field: error.field });
      throw error;
    }
    deps.log.info({ user: (ctx.state.who as Who).user, fields: Object.keys(patch) }, 'credentials saved');
    ctx.body = { success: true, handle, saved_fields: Object.keys(patch), ...publicBlazeConfig(saved) };
  });

  return router;
}
