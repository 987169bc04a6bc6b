import type { BrowserStatus } from '../browser/browser-session.ts';
import type { RestoreStatus } from '../work/restore-state.ts';
import type { WorkView } from '../work/work-in-progress.ts';

/** What happens in a worker that its pages follow live: Chrome starting, started, signing in or gone; a
 *  piece of work begun, at a new stage, or ended; the restore after a start; a Google account connected.
 *  Published by the profile's services, streamed by `GET /api/events` (Server-Sent Events, or a WebSocket
 *  on the same path). `at`: when it happened, in ms since the epoch. */
export type WorkerEvent =
  | { type: 'status'; at: number; browser: BrowserStatus | null; automation: string | null; work: WorkView[]; restore: RestoreStatus | null }
  | ({ type: 'browser'; at: number } & BrowserStatus)
  | { type: 'automation'; at: number; running: string | null }
  | ({ type: 'work'; at: number } & WorkView)
  | { type: 'google'; at: number; authenticated: boolean }
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
