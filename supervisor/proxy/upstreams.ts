import type { Client, Pool } from 'undici';
import { onDemand } from '../../shared/runtime/cjs-imports.ts';
import type { UpstreamTarget } from './admission.ts';

const undici = onDemand.undiciDispatchers();

/** The connections to the workers: one undici `Pool` per worker process (keep-alive, over its Unix
 *  socket), owned by the proxy side. A new process of a worker gets a new pool; the old one closes once its
 *  last request is done. */
export class Upstreams {
  readonly #pools = new Map<string, { target: UpstreamTarget; pool: Pool }>();
  readonly #headersTimeoutMs: number;

  /** `headersTimeoutMs`: how long a worker may take to start answering (then the request is a 504). */
  constructor(options: { headersTimeoutMs: number }) {
    this.#headersTimeoutMs = options.headersTimeoutMs;
  }

  /** The pool for `target`, the address of worker `name`'s current process. */
  pool(name: string, target: UpstreamTarget): Pool {
    const entry = this.#pools.get(name);
    if (entry?.target === target) return entry.pool;
    if (entry) void entry.pool.close().catch(() => {});
    const pool = new undici.Pool(originOf(target), { ...this.#options(target), connections: 256 });
    this.#pools.set(name, { target, pool });
    return pool;
  }

  /** A connection of its own, closed after one request: for a replay, which must not meet another socket
   *  of a process that just died. */
  single(target: UpstreamTarget): Client {
    return new undici.Client(originOf(target), { ...this.#options(target), pipelining: 0 });
  }

  close(): Promise<void> {
    const pools = [...this.#pools.values()];
    this.#pools.clear();
    return Promise.all(pools.map((p) => p.pool.destroy().catch(() => {}))).then(() => {});
  }

  #options(target: UpstreamTarget): Pool.Options & Client.Options {
    return {
      ...('socketPath' in target ? { socketPath: target.socketPath } : {}),
      headersTimeout: this.#headersTimeoutMs,
      // Streams (Server-Sent Events, long exports) may stay quiet for as long as they like.
      bodyTimeout: 0,
      // Idle sockets to a worker are kept a minute (the worker keeps them longer, so it never closes one
      // under a request the supervisor is sending).
      keepAliveTimeout: 60_000,
      keepAliveMaxTimeout: 60_000,
    };
  }
}

function originOf(target: UpstreamTarget): string {
  return 'socketPath' in target ? `http://${target.host}:${target.port}` : target.origin;
}
