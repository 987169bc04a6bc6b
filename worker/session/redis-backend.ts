import type { Redis as RedisClient } from 'ioredis';
import type { Logger } from '../../shared/runtime/logger.ts';
import { SessionUnavailableError, type SessionBackend } from './backend.ts';

export interface RedisBackendOptions {
  url: string;
  /** `REDIS_PREFIX + handle + ":"` */
  keyPrefix: string;
  ttlSeconds: number;
  log: Logger;
}

const SCAN_BATCH = 200;
const CONNECT_TIMEOUT_MS = 2000;

/** Redis session backend: one key per session key, every write refreshes `REDIS_TTL`, clearing walks
 *  `SCAN … MATCH` in batches (never `KEYS`) and deletes only this profile's keys. When Redis is down,
 *  commands fail at once (no offline queue, so nothing is acknowledged and then lost) and the client
 *  keeps reconnecting in the background. */
export class RedisBackend implements SessionBackend {
  readonly name = 'redis' as const;
  readonly #redis: RedisClient;
  readonly #prefix: string;
  readonly #ttl: number;
  readonly #firstConnection: Promise<void>;

  private constructor(redis: RedisClient, options: RedisBackendOptions, firstConnection: Promise<void>) {
    this.#redis = redis;
    this.#prefix = options.keyPrefix;
    this.#ttl = options.ttlSeconds;
    this.#firstConnection = firstConnection;
  }

  static async open(options: RedisBackendOptions): Promise<RedisBackend> {
    const { Redis } = await import('ioredis'); // loaded only by workers that use Redis
    let lastState = '';
    const redis = new Redis(options.url, {
      lazyConnect: false,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      connectTimeout: CONNECT_TIMEOUT_MS,
      commandTimeout: 2000,
      retryStrategy: (attempt) => Math.min(100 * 2 ** Math.min(attempt, 5), 2000),
    });
    const note = (state: string, fields: Record<string, unknown> = {}) => {
      if (state === lastState) return;
      lastState = state;
      options.log[state === 'ready' ? 'info' : 'warn'](fields, `redis session store ${state}`);
    };
    redis.on('ready', () => note('ready'));
    redis.on('error', (error: Error) => note('unreachable', { err: error, url: redactUrl(options.url) }));
    redis.on('end', () => note('closed'));
    const firstConnection = new Promise<void>((resolve) => redis.once('ready', resolve));
    // Start connected when Redis is up (so start-up work such as resetting stale flags reaches it), but never
    // hold the start up for a Redis that is down: the first error or the connect timeout ends the wait.
    await new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        redis.off('error', done);
        resolve();
      };
      const timer = setTimeout(done, CONNECT_TIMEOUT_MS);
      redis.once('error', done);
      void firstConnection.then(done);
    });
    return new RedisBackend(redis, options, firstConnection);
  }

  firstConnection(): Promise<void> {
    return this.#firstConnection;
  }

  async get(key: string) {
    const raw = await this.#run(() => this.#redis.get(this.#prefix + key));
    return raw === null ? undefined : JSON.parse(raw);
  }

  async set(key: string, value: unknown) {
    await this.#run(() => this.#redis.set(this.#prefix + key, JSON.stringify(value), 'EX', this.#ttl));
  }

  async delete(key: string) {
    return (await this.#run(() => this.#redis.del(this.#prefix + key))) > 0;
  }

  async keys() {
    const out: string[] = [];
    await this.#scan(async (batch) => {
      out.push(...batch.map((k) => k.slice(this.#prefix.length)));
    });
    return out;
  }

  async clear(belongs: (key: string) => boolean) {
    let count = 0;
    await this.#scan(async (batch) => {
      const mine = batch.filter((key) => belongs(key.slice(this.#prefix.length)));
      if (mine.length > 0) count += await this.#run(() => this.#redis.unlink(...mine));
    });
    return count;
  }

  async close() {
    this.#redis.disconnect(false);
  }

  async #scan(onBatch: (keys: string[]) => Promise<void>): Promise<void> {
    const match = `${escapeGlob(this.#prefix)}*`;
    let cursor = '0';
    do {
      const [next, batch] = await this.#run(() => this.#redis.scan(cursor, 'MATCH', match, 'COUNT', SCAN_BATCH));
      await onBatch(batch);
      cursor = next;
    } while (cursor !== '0');
  }

  async #run<T>(command: () => Promise<T>): Promise<T> {
    if (this.#redis.status !== 'ready') {
      throw new SessionUnavailableError(`the Redis session store is unreachable (${this.#redis.status}); retrying in the background`);
    }
    try {
      return await command();
    } catch (error) {
      throw new SessionUnavailableError(`the Redis session store failed: ${(error as Error).message}`);
    }
  }
}

/** Handles allow `.` and `-`; a prefix may hold anything: escape Redis glob characters. */
function escapeGlob(s: string): string {
  return s.replace(/[*?[\]\\^]/g, (c) => `\\${c}`);
}

function redactUrl(url: string): string {
  return url.replace(/\/\/([^@/]*)@/, '//[redacted]@');
}
