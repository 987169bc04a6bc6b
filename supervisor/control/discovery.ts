import path from 'node:path';
import { watch, type FSWatcher } from 'chokidar';
import type { ConfigPaths } from '../../shared/profiles/paths.ts';

/** How often the supervisor reconciles without being asked: whatever a watcher missed is seen then. */
export const RESYNC_INTERVAL_MS = 10_000;

/** Watches `tokens/`, `google_creds/` and `last_profile.json` and asks for a reconcile pass after each burst
 *  of changes, and every `RESYNC_INTERVAL_MS` in any case. It decides nothing: the pass reads the files. */
export class Discovery {
  readonly #watcher: FSWatcher;
  readonly #resync: NodeJS.Timeout;
  #timer: NodeJS.Timeout | undefined;

  constructor(paths: ConfigPaths, onChange: () => void, options: { debounceMs?: number; resyncMs?: number } = {}) {
    const relevant = (p: string) =>
      p === paths.configDir ||
      p === paths.tokensDir ||
      p === paths.credentialsDir ||
      p === paths.lastProfile ||
      path.dirname(p) === paths.tokensDir ||
      path.dirname(p) === paths.credentialsDir;
    this.#watcher = watch(paths.configDir, {
      ignoreInitial: true,
      depth: 1,
      ignored: (p: string) => !relevant(path.resolve(p)),
    });
    this.#watcher.on('all', () => {
      clearTimeout(this.#timer);
      this.#timer = setTimeout(onChange, options.debounceMs ?? 75);
    });
    this.#watcher.on('error', () => {}); // a vanished folder is seen again by the periodic resync
    this.#resync = setInterval(onChange, options.resyncMs ?? RESYNC_INTERVAL_MS);
    this.#resync.unref();
  }

  ready(): Promise<void> {
    return new Promise((resolve) => this.#watcher.once('ready', () => resolve()));
  }

  async close(): Promise<void> {
    clearTimeout(this.#timer);
    clearInterval(this.#resync);
    await this.#watcher.close();
  }
}
