import type { Handle } from '../../shared/profiles/handle.ts';

/** What people asked of workers through the API — stop, start, restart, switch — kept as data that the
 *  desired state reads (like a Kubernetes `restartedAt` annotation), so that reconcile stays the only code
 *  that acts on workers. In memory: a supervisor restart starts every profile afresh. */
export class WorkerRequests {
  readonly #disabled = new Set<Handle>();
  readonly #restarts = new Map<Handle, { count: number; reason: string }>();
  readonly #wakes = new Map<Handle, number>();

  /** `POST …/stop`: keep the worker stopped although its files say it should run. */
  disable(handle: Handle): void {
    this.#disabled.add(handle);
  }

  enable(handle: Handle): void {
    this.#disabled.delete(handle);
  }

  /** `POST …/start`: run it, and wake it if it sleeps after being idle. */
  start(handle: Handle): void {
    this.enable(handle);
    this.#wakes.set(handle, (this.#wakes.get(handle) ?? 0) + 1);
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
    this.#wakes.delete(handle);
  }

  of(handle: Handle): { enabled: boolean; restarts: number; restartReason: string; wakes: number } {
    const restart = this.#restarts.get(handle);
    return { enabled: !this.#disabled.has(handle), restarts: restart?.count ?? 0, restartReason: restart?.reason ?? 'restart requested', wakes: this.#wakes.get(handle) ?? 0 };
  }
}
