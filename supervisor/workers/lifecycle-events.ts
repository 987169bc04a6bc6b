import type { Logger } from '../../shared/runtime/logger.ts';
import type { PortMover } from './port-moves.ts';
import type { RestartPolicyOptions } from './restart-policy.ts';
import type { StartGate } from './start-gate.ts';
import type { Spawner } from './worker-process.ts';
import type { WorkerState } from './worker-status.ts';

/** Everything a worker's lifecycle tells whoever runs it (the supervisor), as one typed stream. */
export type LifecycleEvent =
  /** Anything in its status changed (state, stage, work, restore): the dashboard follows it live. */
  | { kind: 'changed' }
  | { kind: 'state'; from: WorkerState; to: WorkerState }
  /** A backoff is over, or a request waits for a sleeping worker: reconcile decides what to do. */
  | { kind: 'retry-due' }
  | { kind: 'demand' }
  /** Its process asked for a switch, for the person it names. */
  | { kind: 'switch'; handle: string; by: string }
  /** Its Chrome started (pid) or closed (null): the worker's record keeps it for the next supervisor. */
  | { kind: 'browser'; pid: number | null }
  /** For the metrics: a process became ready, a recycle finished, a process crashed. */
  | { kind: 'ready'; spawnSeconds: number }
  | { kind: 'recycled'; seconds: number }
  | { kind: 'crashed' };

/** What a worker process runs: the sources' fingerprint and the settings' (docs/architecture.md, "Versions
 *  meet"). */
export interface Version {
  build: string;
  settings: string;
}

export interface LifecycleOptions {
  spawn: Spawner;
  settings: { START_TIMEOUT_MS: number; STOP_TIMEOUT_MS: number; MAX_RESTARTS: number; RESTART_WINDOW_MS: number };
  log: Logger;
  /** The build and settings this supervisor runs with: a worker that runs others is an older version. */
  version?: Version;
  /** Limits how many workers start at once (shared by all workers of a supervisor). */
  startGate?: StartGate;
  /** Backoff timing (tests shorten it); the limits come from `settings`. */
  backoff?: Pick<RestartPolicyOptions, 'baseDelayMs' | 'maxDelayMs' | 'stableAfterMs'>;
  /** Another port for one another program took; without it, a taken port is a crash. */
  movePort?: PortMover;
  onEvent(event: LifecycleEvent): void;
}
