import type { RestoreStatus } from './restore.ts';

/** What happens in a worker that its pages follow live: Chrome started or gone, an automation started or
 *  ended, the restore after a start. Published by the profile's services, streamed by `GET /api/events` (Server-Sent Events, or a
 *  WebSocket on the same path). `at`: when it happened, in ms since the epoch. */
export type WorkerEvent =
  | { type: 'status'; at: number; browser: { ready: boolean; pid: number | null }; automation: string | null; restore: RestoreStatus | null }
  | { type: 'browser'; at: number; ready: boolean; pid: number | null }
  | { type: 'automation'; at: number; running: string | null }
  | ({ type: 'restore'; at: number } & RestoreStatus);

type Published = WorkerEvent extends infer E ? (E extends WorkerEvent ? Omit<E, 'at'> : never) : never;

export interface Subscriber {
  event(event: WorkerEvent): void;
  /** The worker is stopping: end the stream, so that nothing waits for it. */
  end(): void;
}

export class WorkerEvents {
  readonly #subscribers = new Set<Subscriber>();

  publish(event: Published): void {
    const stamped = { ...event, at: Date.now() } as WorkerEvent;
    for (const subscriber of this.#subscribers) subscriber.event(stamped);
  }

  /** Returns the function that ends the subscription. */
  subscribe(subscriber: Subscriber): () => void {
    this.#subscribers.add(subscriber);
    return () => this.#subscribers.delete(subscriber);
  }

  /** Ends every stream (a graceful stop must not wait for them). */
  end(): void {
    for (const subscriber of [...this.#subscribers]) subscriber.end();
    this.#subscribers.clear();
  }
}
