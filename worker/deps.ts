import type { Handle } from '../shared/handle.ts';
import type { WorkerMessage } from '../shared/ipc.ts';
import type { Logger } from '../shared/logger.ts';
import type { ProfileStore } from '../shared/profile-store.ts';
import type { Settings } from '../shared/settings.ts';
import { ApiError } from '../shared/api-error.ts';
import type { ProfileServices } from './profile-services.ts';
import type { SessionManager } from './session/session-manager.ts';
import type { WorkerEvents } from './events.ts';
import type { RestoreState } from './restore.ts';

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

/** The profile's services, loaded on first use: a worker whose people never connect Google or automate
 *  the MIS never loads that code (start-up time and memory of every idle worker). */
export class LazyProfile {
  readonly #load: () => Promise<ProfileServices>;
  #promise: Promise<ProfileServices> | null = null;
  #value: ProfileServices | null = null;

  constructor(load: () => Promise<ProfileServices>) {
    this.#load = load;
  }

  get(): Promise<ProfileServices> {
    this.#promise ??= this.#load().then((value) => (this.#value = value));
    return this.#promise;
  }

  /** The services if something has used them already, without loading them. */
  get loaded(): ProfileServices | null {
    return this.#value;
  }
}

/** The profile's services, or 409 `no_active_profile` on the setup worker. */
export function requireProfile(deps: WorkerDeps): Promise<ProfileServices> {
  if (!deps.profile) throw new ApiError(409, 'no_active_profile', 'no profile yet: register one first (POST /api/profile/register)');
  return deps.profile.get();
}
