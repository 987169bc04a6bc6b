import type { Handle } from '../../shared/profiles/handle.ts';
import type { Logger } from '../../shared/runtime/logger.ts';
import type { Settings } from '../../shared/runtime/settings.ts';
import { profilePaths } from '../../shared/profiles/paths.ts';
import type { SessionBackend } from './backend.ts';
import { FileBackend } from './file-backend.ts';
import { MemoryBackend } from './memory-backend.ts';

/** Flags that earlier versions kept in the session store although they describe live process state (a new
 *  process starts without a browser or an automation): removed at start so that none is ever believed. */
const STALE_FLAGS = ['browser_ready', 'automation_in_progress', 'mis_logged_in'];

/** Where the worker's own keys live in the store: a prefix no key of `GET`/`PUT /api/session/:key` can have
 *  (those are letters, digits, `.`, `-` and `_`). */
const WORK_PREFIX = '~work.';
/** What a restart brings back, kept by earlier versions among the pages' values: moved at start. */
const WORK_KEYS = ['csv', 'spreadsheet', 'browser'];

/** One namespace of a profile's session store: its own keys, listed and cleared without the other's. */
export class SessionNamespace {
  readonly #backend: SessionBackend;
  readonly #prefix: string;
  readonly #mine: (key: string) => boolean;

  constructor(backend: SessionBackend, prefix: string, mine: (key: string) => boolean) {
    this.#backend = backend;
    this.#prefix = prefix;
    this.#mine = mine;
  }

  get<T = unknown>(key: string): Promise<T | undefined> {
    return this.#backend.get(this.#prefix + key) as Promise<T | undefined>;
  }
  set(key: string, value: unknown): Promise<void> {
    return this.#backend.set(this.#prefix + key, value);
  }
  delete(key: string): Promise<boolean> {
    return this.#backend.delete(this.#prefix + key);
  }
  async keys(): Promise<string[]> {
    return (await this.#backend.keys()).filter(this.#mine).map((key) => key.slice(this.#prefix.length));
  }
  clear(): Promise<number> {
    return this.#backend.clear(this.#mine);
  }
}

/** One per worker process (the guide's "per-process singleton"), namespaced by its profile, in two parts:
 *  `values`, what the pages keep (`/api/session`), and `work`, what a restart brings back (the loaded CSV,
 *  spreadsheet, an open Chrome: worker/work/remembered-work.ts), which clearing the values leaves alone.
 *  Volatile state (browser, Sheets client, parsed CSV) lives on other objects of the worker and is never
 *  serialised. */
export class SessionManager {
  readonly handle: Handle | null;
  readonly backend: SessionBackend;
  readonly values: SessionNamespace;
  readonly work: SessionNamespace;

  constructor(handle: Handle | null, backend: SessionBackend) {
    this.handle = handle;
    this.backend = backend;
    this.values = new SessionNamespace(backend, '', (key) => !key.startsWith(WORK_PREFIX));
    this.work = new SessionNamespace(backend, WORK_PREFIX, (key) => key.startsWith(WORK_PREFIX));
  }

  static async open(handle: Handle | null, settings: Settings, log: Logger): Promise<SessionManager> {
    const backend = await openBackend(handle, settings, log);
    const session = new SessionManager(handle, backend);
    if (!(await session.tidy(log)) && backend.firstConnection) {
      // Redis is down at start: the flags go as soon as it is first reached, not never.
      log.warn('stale session flags will be reset once the session store is reachable');
      void backend.firstConnection().then(() => session.tidy(log));
    }
    return session;
  }

  close(): Promise<void> {
    return this.backend.close();
  }

  /** Deletes the flags of earlier processes, and moves what earlier versions remembered of the work into its
 *  own namespace; `false` when the store could not be reached. The deletes are issued at once, so none
 *  lands after a flag this process sets right after reconnecting. */
  async tidy(log: Logger): Promise<boolean> {
    try {
      await Promise.all(STALE_FLAGS.map((flag) => this.values.delete(flag)));
      for (const key of WORK_KEYS) {
        const legacy = await this.values.get(key);
        if (legacy === undefined) continue;
        if ((await this.work.get(key)) === undefined) await this.work.set(key, legacy);
        await this.values.delete(key);
      }
      return true;
    } catch (error) {
      log.warn({ err: error }, 'could not tidy the session store now (session store unavailable)');
      return false;
    }
  }
}

async function openBackend(handle: Handle | null, settings: Settings, log: Logger): Promise<SessionBackend> {
  // The setup worker has no profile to persist anything for.
  if (handle === null || settings.SESSION_BACKEND === 'memory') return new MemoryBackend();
  if (settings.SESSION_BACKEND === 'redis') {
    const { RedisBackend } = await import('./redis-backend.ts');
    return RedisBackend.open({
      url: settings.REDIS_URL ?? 'redis://127.0.0.1:6379/0',
      keyPrefix: `${settings.REDIS_PREFIX}${handle}:`,
      ttlSeconds: settings.REDIS_TTL,
      log,
    });
  }
  return FileBackend.open(profilePaths(settings.configDir, handle).session, log);
}
