import type { Handle } from '../shared/handle.ts';
import type { WorkerMessage } from '../shared/ipc.ts';
import type { Logger } from '../shared/logger.ts';
import type { ProfileStore } from '../shared/profile-store.ts';
import type { Settings } from '../shared/settings.ts';
import { ApiError } from '../shared/api-error.ts';
import type { ProfileServices } from './profile-services.ts';
import type { SessionManager } from './session/session-manager.ts';

/** What every route of one worker shares: its profile and the process-wide services. */
export interface WorkerDeps {
  /** This worker's profile; `null` for the setup worker of first-run mode. */
  handle: Handle | null;
  store: ProfileStore;
  settings: Settings;
  log: Logger;
  /** Tells the supervisor something (no-op when the worker runs alone). */
  notify(message: WorkerMessage): void;
  supervised: boolean;
  session: SessionManager;
  /** `null` for the setup worker. */
  profile: ProfileServices | null;
}

/** The profile's services, or 409 `no_active_profile` on the setup worker. */
export function requireProfile(deps: WorkerDeps): ProfileServices {
  if (!deps.profile) throw new ApiError(409, 'no_active_profile', 'no profile yet: register one first (POST /api/profile/register)');
  return deps.profile;
}
