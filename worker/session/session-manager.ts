import type { Handle } from '../../shared/handle.ts';
import type { Logger } from '../../shared/logger.ts';
import type { Settings } from '../../shared/settings.ts';
import { profilePaths } from '../../shared/paths.ts';
import type { SessionBackend } from './backend.ts';
import { FileBackend } from './file-backend.ts';
import { MemoryBackend } from './memory-backend.ts';

/** Flags that earlier versions kept in the session store although they describe live process state (a new
 *  process starts without a browser or an automation): removed at start so that none is ever believed. */
const STALE_FLAGS = ['browser_ready', 'automation_in_progress', 'mis_logged_in'];

/** One per worker process (the guide's "per-process singleton"), namespaced by its profile. Persistent
 *  state goes through the backend; volatile state (browser, Sheets client, parsed CSV) lives on other
 *  objects of the worker and is never serialised. */
export class SessionManager {
  readonly handle: Handle | null;
  readonly backend: SessionBackend;

  constructor(handle: Handle | null, backend: SessionBackend) {
    this.handle = handle;
    this.backend = backend;
  }

  static async open(handle: Handle | null, settings: Settings, log: Logger): Promise<SessionManager> {
    const backend = await openBackend(handle, settings, log);
    const session = new SessionManager(handle, backend);
    if (!(await session.resetStaleFlags(log)) && backend.firstConnection) {
      // Redis is down at start: the flags go as soon as it is first reached, not never.
      log.warn('stale session flags will be reset once the session store is reachable');
      void backend.firstConnection().then(() => session.resetStaleFlags(log));
    }
    return session;
  }

  get<T = unknown>(key: string): Promise<T | undefined> {
    return this.backend.get(key) as Promise<T | undefined>;
  }
  set(key: string, value: unknown): Promise<void> {
    return this.backend.set(key, value);
  }
  delete(key: string): Promise<boolean> {
    return this.backend.delete(key);
  }
  keys(): Promise<string[]> {
    return this.backend.keys();
  }
  clear(): Promise<number> {
    return this.backend.clear();
  }
  close(): Promise<void> {
    return this.backend.close();
  }

  /** Deletes the flags of earlier processes; `false` when the store could not be reached. All deletes are
   *  issued at once, so none lands after a flag this process sets right after reconnecting. */
  async resetStaleFlags(log: Logger): Promise<boolean> {
    try {
      await Promise.all(STALE_FLAGS.map((flag) => this.backend.delete(flag)));
      return true;
    } catch (error) {
      log.warn({ err: error }, 'could not reset stale session flags now (session store unavailable)');
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
