import type { Handle } from '../profiles/handle.ts';

/** Messages a worker sends its supervisor: over its control channel (`control-protocol.ts`), or over IPC
 *  before that is up. */
export type WorkerMessage =
  /** `socket`: a Unix socket the supervisor may proxy to instead of the TCP port. */
  | { type: 'ready'; port: number; socket?: string | null }
  /** The worker wrote last_profile.json for a switch asked by `by` (as the supervisor named them to the
   *  worker): the supervisor recycles worker(handle), which then serves /api (docs/architecture.md, "The
   *  path of one switch"), if that person may. */
  | { type: 'switch'; handle: Handle; by: string }
  /** The worker cannot run; the supervisor shows `code` instead of a bare exit status. */
  | { type: 'fatal'; code: 'port_conflict' | 'startup_failed' | 'stale_build'; message: string; port?: number }
  /** The worker's Chrome started (pid) or went away (null): killed with the worker if it ever has to be. */
  | { type: 'browser'; pid: number | null }
  /** What the worker is in the middle of, at every change, each with the most it may take: the supervisor
   *  waits for it before a recycle (no longer than that) and never idle-stops a worker at work. */
  | { type: 'work'; running: { name: string; limit_ms: number }[] }
  /** The restore of the profile's work after a start: under way, or done (and what could not come back). */
  | { type: 'restore'; state: 'restoring' | 'done'; failed: string[] };

/** Messages the supervisor sends a worker. `start`, first and once, hands over what must not sit in an
 *  environment (any process of the same user reads /proc/<pid>/environ, and children inherit it): the
 *  validated settings (SUPERVISOR_TOKEN, a Redis URL with its password) and the secret that proves a request
 *  came through the supervisor. */
export type SupervisorMessage =
  | { type: 'shutdown' }
  /** `control`: the supervisor's control socket, which the worker dials from then on (IPC closes with the
   *  supervisor that spawned it; the control channel is there for the next one), the secret that proves
   *  each side to the other there, and the worker's name. */
  | { type: 'start'; settings: string; secret: string; control: { socket: string; secret: string; name: string }; worker?: WorkerAssignment };

/** What one worker is for (its profile, or setup; its port; its socket), in its `start` message rather than
 *  its environment: a spare worker is spawned before anyone knows which profile it will serve
 *  (docs/architecture.md, "Spare workers"). The same variables a worker run alone reads. */
export interface WorkerAssignment {
  env: { PORT: string; BLAZE_PROFILE?: string; TAT_SETUP_WORKER?: '1'; TAT_WORKER_SOCKET?: string };
}

/** Set in a spare worker's environment: it waits for its `start` message as long as its supervisor is there. */
export const SPARE_VAR = 'TAT_SPARE_WORKER';

/** Set in a worker's environment when its `start` message comes over IPC (not a secret itself). */
export const START_OVER_IPC_VAR = 'TAT_START_OVER_IPC';

export function isWorkerMessage(value: unknown): value is WorkerMessage {
  const type = (value as { type?: unknown } | null)?.type;
  return type === 'ready' || type === 'switch' || type === 'fatal' || type === 'browser' || type === 'work' || type === 'restore';
}

export function isSupervisorMessage(value: unknown): value is SupervisorMessage {
  const type = (value as { type?: unknown } | null)?.type;
  return type === 'shutdown' || type === 'start';
}
