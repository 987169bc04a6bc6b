import type { Handle } from '../shared/handle.ts';

/** What people asked of workers through the API — stop, start, restart, switch — kept as data that the
 *  desired state reads (like a Kubernetes `restartedAt` annotation), so that reconcile stays the only code
 *  that acts on workers. In memory: a supervisor restart starts every profile afresh. */
export class WorkerRequests {
  readonly #disabled = new Set<Handle>();
  readonly #restarts = new Map<Handle, { count: number; reason: string }>();

  /** `POST …/stop`: keep the worker stopped although its files say it should run. */
  disable(handle: Handle): void {
    this.#disabled.add(handle);
  }

  enable(handle: Handle): void {
    this.#disabled.delete(handle);
  }

  /** A recycle of the worker (it is started if it was stopped). */
  restart(handle: Handle, reason: string): void {
    this.enable(handle);
    this.#restarts.set(handle, { count: (this.#restarts.get(handle)?.count ?? 0) + 1, reason });
  }

  /** The profile is gone: what was asked for it no longer applies. */
  forget(handle: Handle): void {
    this.#disabled.delete(handle);
    this.#restarts.delete(handle);
  }

  of(handle: Handle): { enabled: boolean; restarts: number; restartReason: string } {
    const restart = this.#restarts.get(handle);
    return { enabled: !this.#disabled.has(handle), restarts: restart?.count ?? 0, restartReason: restart?.reason ?? 'restart requested' };
  }
}
