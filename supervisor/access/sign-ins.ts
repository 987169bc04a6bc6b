import { createHash, randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import { readJsonFile, writeJsonFileAtomic } from '../../shared/files/json-file.ts';
import { KeyedMutex } from '../../shared/files/keyed-mutex.ts';
import type { Logger } from '../../shared/runtime/logger.ts';

/** One sign-in: whose, since when (ms since the epoch), until when. */
export interface SignIn {
  user: string;
  created: number;
  expires: number;
}

/** Where sign-in sessions live: a file under the config dir, or Redis (shards behind nginx then share them).
 *  Only a hash of each session id is stored; the id itself exists in the person's cookie alone. */
export interface SignInStore {
  /** A new session for `user`; its id, for the cookie. */
  create(user: string): Promise<string>;
  get(id: string): Promise<SignIn | null>;
  end(id: string): Promise<void>;
  close(): Promise<void>;
}

/** Where sign-ins live in Redis, after REDIS_PREFIX: a name no handle can have. */
export const SIGN_IN_NAMESPACE = '_sign-in:';

const idHash = (id: string) => createHash('sha256').update(id).digest('hex');
const newId = () => randomBytes(32).toString('base64url');

/** Sessions in `sign-ins.json` (0600), held in memory and written on every change. */
export class FileSignIns implements SignInStore {
  readonly #file: string;
  readonly #ttlMs: number;
  readonly #log: Logger;
  readonly #lock = new KeyedMutex();
  #sessions = new Map<string, SignIn>();

  private constructor(file: string, ttlMs: number, log: Logger) {
    this.#file = file;
    this.#ttlMs = ttlMs;
    this.#log = log;
  }

  static async open(file: string, ttlMs: number, log: Logger): Promise<FileSignIns> {
    const store = new FileSignIns(file, ttlMs, log);
    const read = await readJsonFile<Record<string, SignIn>>(file);
    if (read.status === 'corrupt') log.error({ file, reason: read.reason }, 'corrupt sign-in file ignored: everyone signs in again');
    if (read.status === 'ok' && read.value && typeof read.value === 'object') {
      const now = Date.now();
      for (const [hash, s] of Object.entries(read.value)) {
        if (typeof s?.user === 'string' && typeof s.expires === 'number' && s.expires > now && typeof s.created === 'number') store.#sessions.set(hash, s);
      }
    }
    return store;
  }

  async create(user: string): Promise<string> {
    const id = newId();
    const now = Date.now();
    this.#sessions.set(idHash(id), { user, created: now, expires: now + this.#ttlMs });
    await this.#save();
    return id;
  }

  async get(id: string): Promise<SignIn | null> {
    const session = this.#sessions.get(idHash(id));
    if (!session) return null;
    if (session.expires <= Date.now()) {
      this.#sessions.delete(idHash(id));
      return null;
    }
    return session;
  }

  async end(id: string): Promise<void> {
    if (this.#sessions.delete(idHash(id))) await this.#save();
  }

  async close(): Promise<void> {}

  #save(): Promise<void> {
    return this.#lock.run('file', async () => {
      const now = Date.now();
      for (const [hash, s] of this.#sessions) if (s.expires <= now) this.#sessions.delete(hash);
      await writeJsonFileAtomic(this.#file, Object.fromEntries(this.#sessions), { secret: true }).catch((error) =>
        this.#log.error({ err: error }, 'cannot save the sign-ins; they hold until the supervisor restarts'),
      );
    });
  }
}

/** Sessions in Redis under `<REDIS_PREFIX>_sign-in:<hash>`, expiring with the session. Profiles' session
 *  keys are `<REDIS_PREFIX><handle>:<key>`, and no handle starts with `_`: no profile (not even one named
 *  `sign-in`) can read, write or clear a sign-in. */
export class RedisSignIns implements SignInStore {
  readonly #redis: Redis;
  readonly #prefix: string;
  readonly #ttlMs: number;

  private constructor(redis: Redis, prefix: string, ttlMs: number) {
    this.#redis = redis;
    this.#prefix = `${prefix}${SIGN_IN_NAMESPACE}`;
    this.#ttlMs = ttlMs;
  }

  static async open(url: string, prefix: string, ttlMs: number, log: Logger): Promise<RedisSignIns> {
    const { Redis } = await import('ioredis'); // loaded only when sign-ins live in Redis
    const redis = new Redis(url, { lazyConnect: false, maxRetriesPerRequest: 1, enableOfflineQueue: true });
    redis.on('error', (error: Error) => log.warn({ err: error }, 'redis for sign-ins unreachable'));
    return new RedisSignIns(redis, prefix, ttlMs);
  }

  async create(user: string): Promise<string> {
    const id = newId();
    const now = Date.now();
    await this.#redis.set(this.#prefix + idHash(id), JSON.stringify({ user, created: now, expires: now + this.#ttlMs }), 'PX', this.#ttlMs);
    return id;
  }

  async get(id: string): Promise<SignIn | null> {
    const text = await this.#redis.get(this.#prefix + idHash(id));
    if (!text) return null;
    const session = JSON.parse(text) as SignIn;
    return session.expires > Date.now() ? session : null;
  }

  async end(id: string): Promise<void> {
    await this.#redis.del(this.#prefix + idHash(id));
  }

  async close(): Promise<void> {
    this.#redis.disconnect();
  }
}
