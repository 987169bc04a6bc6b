import type { WorkerSpec } from '../workers/worker-spec.ts';
import type { WorkerState } from '../workers/worker-lifecycle.ts';

/** What reconcile knows of a worker that exists. */
export interface ActualWorker {
  /** The spec it was last given. */
  spec: WorkerSpec;
  /** Whether it was last told to run, to stop, or to sleep until a request comes. */
  goal: 'running' | 'stopped' | 'idle';
  state: WorkerState;
  /** In `backoff`, and the delay is over. */
  retryDue: boolean;
  /** Ready, and unused (no request, stream or automation) for this long; 0 while in use or not ready. */
  idleForMs: number;
  /** Asleep, and a request waits for it. */
  demanded: boolean;
}

export type Action =
  /** A new worker: started, or asleep when `spec.lazy`. */
  | { kind: 'create'; spec: WorkerSpec }
  | { kind: 'remove'; name: string; reason: string }
  | { kind: 'start'; spec: WorkerSpec }
  | { kind: 'stop'; name: string; reason: string }
  | { kind: 'recycle'; spec: WorkerSpec; reason: string }
  | { kind: 'retry'; name: string }
  /** Unused for `IDLE_TIMEOUT_MS`: stopped until a request comes. */
  | { kind: 'sleep'; name: string }
  /** Nothing to do for the process; remember the newer spec (a token refreshed by the worker itself). */
  | { kind: 'accept'; spec: WorkerSpec };

/** The difference between the workers that should exist and those that do, as actions. Pure and
 *  level-triggered: the same inputs give the same actions, so a pass can run any number of times and a
 *  missed event is healed by the next one. */
export function plan(desired: readonly WorkerSpec[], actual: ReadonlyMap<string, ActualWorker>): Action[] {
  const actions: Action[] = [];
  const wanted = new Set(desired.map((s) => s.name));
  for (const [name, worker] of actual) {
    if (!wanted.has(name)) {
      const reason = worker.spec.role === 'setup' ? 'a profile exists: first-run mode is over' : 'profile removed (token or credentials file gone)';
      actions.push({ kind: 'remove', name, reason });
    }
  }
  for (const spec of desired) {
    const worker = actual.get(spec.name);
    const action = worker ? planOne(spec, worker) : { kind: 'create' as const, spec };
    if (action) actions.push(action);
  }
  return actions;
}

function planOne(spec: WorkerSpec, worker: ActualWorker): Action | null {
  if (!spec.enabled) return worker.goal !== 'stopped' ? { kind: 'stop', name: spec.name, reason: 'stop requested' } : null;
  if (worker.goal === 'stopped') return { kind: 'start', spec };
  if (worker.goal === 'idle') {
    const woken = worker.demanded || spec.wakes !== worker.spec.wakes || spec.restarts !== worker.spec.restarts;
    if (woken) return { kind: 'start', spec };
    return sameSpec(spec, worker.spec) ? null : { kind: 'accept', spec };
  }
  if (spec.restarts !== worker.spec.restarts) return { kind: 'recycle', spec, reason: spec.restartReason };
  if (spec.config !== worker.spec.config) return { kind: 'recycle', spec, reason: 'its credentials file changed' };
  if (worker.state === 'errored' && spec.files !== worker.spec.files) return { kind: 'recycle', spec, reason: 'its files changed' };
  if (worker.retryDue) return { kind: 'retry', name: spec.name };
  if (spec.idleAfterMs > 0 && worker.state === 'ready' && worker.idleForMs >= spec.idleAfterMs) return { kind: 'sleep', name: spec.name };
  if (!sameSpec(spec, worker.spec)) return { kind: 'accept', spec };
  return null;
}

/** Equal in everything a worker keeps (its current-profile flag `lazy` only matters at creation). */
function sameSpec(a: WorkerSpec, b: WorkerSpec): boolean {
  return a.files === b.files && a.config === b.config && a.restarts === b.restarts && a.wakes === b.wakes && a.port === b.port;
}
