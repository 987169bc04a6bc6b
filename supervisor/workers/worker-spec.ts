import type { Handle } from '../../shared/profiles/handle.ts';

/** The setup worker's name: not a valid handle, so it can never collide with a profile. */
export const SETUP_WORKER = '_setup';

/** What one worker should be: computed by the desired state, compared by reconcile, run by the lifecycle.
 *  A profile's worker and the setup worker of first-run mode are both just specs. */
export interface WorkerSpec {
  /** The profile's handle, or `SETUP_WORKER`. */
  name: string;
  role: 'profile' | 'setup';
  /** The port asked for (`ports.json`); 0 lets the OS choose. */
  port: number;
  /** Fingerprint of the files the running process has read (its credentials file): a change recycles it. */
  config: string;
  /** Fingerprint of every file that makes it a profile: a change gives an errored worker another try. */
  files: string;
  /** Restart requests so far (dashboard, API, switch): one more than the running process has seen recycles it. */
  restarts: number;
  /** Why the last restart was requested, for the log. */
  restartReason: string;
  /** False after `POST …/stop`, until a start, restart or switch. */
  enabled: boolean;
  /** `IDLE_TIMEOUT_MS`: stopped after this long unused, started again by its next request; 0: never. */
  idleAfterMs: number;
  /** Start requests so far: one more than it has seen wakes a worker that sleeps after being idle. */
  wakes: number;
  /** Created asleep, started by its first request (idle stop is on and it is not the current profile). */
  lazy: boolean;
}

/** The handle a worker serves, `null` for the setup worker (the API's and the log's `handle`). */
export function handleOf(spec: Pick<WorkerSpec, 'name' | 'role'>): Handle | null {
  return spec.role === 'profile' ? spec.name : null;
}

/** How messages name a worker. */
export function describeWorker(spec: Pick<WorkerSpec, 'name' | 'role'>): string {
  return spec.role === 'profile' ? `"${spec.name}"` : 'the setup worker';
}
