import { rssBytes } from './process-tree.ts';
import type { RunningProcess } from './worker-process.ts';
import { handleOf, type WorkerSpec } from './worker-spec.ts';

/** docs/architecture.md, "The worker state machine". */
export type WorkerState = 'starting' | 'ready' | 'draining' | 'stopped' | 'idle' | 'backoff' | 'errored';

export interface LastExit {
  code: number | null;
  signal: string | null;
  at: string;
  reason: string;
  /** As the pages say it: `code 1 (crashed)`, `signal SIGKILL (start timeout)`. */
  summary: string;
}

export type Problem = { code: string; message: string; port?: number };

/** A recycle that waits for the worker's work to end (no longer than the work's own limit). */
export type PendingRecycle = { action: 'recycle'; reason: string; waiting_for: string[]; until: string };

/** Its port was taken by another program, so it was moved (the latest move since the supervisor started).
 *  `saved`: in ports.json (false while that file is corrupt: the port holds until the supervisor restarts). */
export type PortMoved = { from: number; to: number; at: string; saved: boolean; message: string };

/** What a start, stop or backoff is doing now, since when (ms since the epoch), and the most it takes. */
export type Stage = { text: string; started_at: number; limit_ms: number };

/** One worker as the API and the dashboard show it. */
export interface WorkerStatus {
  /** The profile's handle, or the setup worker's name. */
  name: string;
  /** The profile it serves; `null` for the setup worker. */
  handle: string | null;
  state: WorkerState;
  /** Why it is draining: a recycle (comes back), a stop (does not), or idleness (comes back on demand). */
  draining_for: 'recycle' | 'stop' | 'idle' | null;
  pid: number | null;
  port: number;
  direct_url: string | null;
  started_at: string | null;
  uptime_ms: number | null;
  restarts: number;
  last_exit: LastExit | null;
  problem: Problem | null;
  /** Its process runs an older build or other settings than the supervisor (it was adopted): moved to the
   *  new version by `POST /supervisor/api/workers/upgrade`, one by one, when it has no work running. */
  version: 'current' | 'older' | null;
  rss_bytes: number | null;
  held_requests: number;
  in_flight: number;
  /** What it is in the middle of (init-all, pull-csv, load-sheet, restore, …). */
  work: string[];
  pending: PendingRecycle | null;
  /** The profile's Chrome is open (a recycle closes it, and the restore opens it again). */
  browser_open: boolean;
  /** Bringing the profile's work back after a start: under way, done, and what could not come back. */
  restore: { state: 'restoring' | 'done'; failed: string[] } | null;
  port_moved: PortMoved | null;
  stage: Stage | null;
}

/** What a lifecycle knows, from which its status is projected. */
export interface StatusFacts {
  spec: WorkerSpec;
  state: WorkerState;
  drainingFor: WorkerStatus['draining_for'];
  proc: RunningProcess | null;
  /** The port its process said it listens on (the spec's until then). */
  port: number | null;
  startedAt: Date | null;
  restarts: number;
  lastExit: LastExit | null;
  problem: Problem | null;
  older: boolean;
  held: number;
  inFlight: number;
  work: string[];
  pending: PendingRecycle | null;
  restore: WorkerStatus['restore'];
  portMoved: PortMoved | null;
  stage: Stage | null;
}

/** The status of a worker, from what its lifecycle knows. */
export function projectStatus(f: StatusFacts): WorkerStatus {
  const pid = f.proc?.running ? f.proc.pid : null;
  const up = f.state === 'ready' || f.state === 'draining';
  const port = f.port || f.spec.port;
  return {
    name: f.spec.name,
    handle: handleOf(f.spec),
    state: f.state,
    draining_for: f.state === 'draining' ? f.drainingFor : null,
    pid,
    port,
    direct_url: port ? `http://127.0.0.1:${port}/` : null,
    started_at: up && f.startedAt ? f.startedAt.toISOString() : null,
    uptime_ms: up && f.proc ? Math.round(performance.now() - f.proc.startedAt) : null,
    restarts: f.restarts,
    last_exit: f.lastExit,
    problem: f.problem,
    version: pid === null ? null : f.older ? 'older' : 'current',
    rss_bytes: pid ? rssBytes(pid) : null,
    held_requests: f.held,
    in_flight: f.inFlight,
    work: f.work,
    pending: f.pending,
    browser_open: f.proc?.running ? f.proc.browserOpen : false,
    restore: f.restore,
    port_moved: f.portMoved,
    stage: f.stage,
  };
}
