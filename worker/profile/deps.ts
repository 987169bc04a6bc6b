import type { Handle } from '../../shared/profiles/handle.ts';
import type { WorkerMessage } from '../../shared/runtime/ipc.ts';
import type { Logger } from '../../shared/runtime/logger.ts';
import type { ProfileStore } from '../../shared/profiles/profile-store.ts';
import type { Settings } from '../../shared/runtime/settings.ts';
import { ApiError } from '../../shared/http/api-error.ts';
import type { ProfileServices } from './profile-services.ts';
import type { SessionManager } from '../session/session-manager.ts';
import type { WorkerEvents } from './events.ts';
import type { RestoreState } from '../work/restore-state.ts';
import type { LazyProfile } from './lazy-profile.ts';

/** What every route of one worker shares: its profile and the process-wide services. */
export interface WorkerDeps {
  /** This worker's profile; `null` for the setup worker of first-run mode. */
  handle: Handle | null;
  store: ProfileStore;
  settings: Settings;
  log: Logger;
  /** Where this profile's API is for the person reading a message: `/p/<handle>/api` under the supervisor
   *  (the unprefixed `/api` may go to another profile), `/api` alone. */
  apiBase: string;
  /** Tells the supervisor something (no-op when the worker runs alone). */
  notify(message: WorkerMessage): void;
  supervised: boolean;
  session: SessionManager;
  /** `null` for the setup worker. */
  profile: LazyProfile | null;
  events: WorkerEvents;
  /** What the restore after the start brought back. */
  restore: RestoreState;
}

/** The profile's services, or 409 `no_active_profile` on the setup worker. */
export function requireProfile(deps: WorkerDeps): Promise<ProfileServices> {
  if (!deps.profile) throw new ApiError(409, 'no_active_profile', 'no profile yet: register one first (POST /api/profile/register)');
  return deps.profile.get();
}
