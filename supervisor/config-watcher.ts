import path from 'node:path';
import { watch, type FSWatcher } from 'chokidar';
import type { ConfigPaths } from '../shared/paths.ts';
import { handleFromFileName } from '../shared/paths.ts';
import { parseHandle, type Handle } from '../shared/handle.ts';

export interface ConfigChange {
  /** Profiles whose token or credentials file was added, changed or removed. */
  handles: Set<Handle>;
  /** Profiles whose credentials file changed in place (their worker is recycled). */
  credentialsChanged: Set<Handle>;
  lastProfileChanged: boolean;
}

/** Watches `tokens/`, `google_creds/` and `last_profile.json`, batching bursts of events into one change. */
export class ConfigWatcher {
  readonly #watcher: FSWatcher;
  #pending: ConfigChange = emptyChange();
  #timer: NodeJS.Timeout | undefined;

  constructor(paths: ConfigPaths, onChange: (change: ConfigChange) => void, debounceMs = 75) {
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
    this.#watcher.on('all', (event, rawPath) => {
      const p = path.resolve(rawPath);
      const name = path.basename(p);
      if (p === paths.lastProfile) this.#pending.lastProfileChanged = true;
      const token = path.dirname(p) === paths.tokensDir ? handleFromFileName(name, 'token_') : null;
      const creds = path.dirname(p) === paths.credentialsDir ? handleFromFileName(name, 'credentials_') : null;
      const handle = parseHandle(token ?? creds ?? '');
      if (handle && handle === (token ?? creds)) {
        this.#pending.handles.add(handle);
        if (creds && event === 'change') this.#pending.credentialsChanged.add(handle);
      }
      if (event === 'addDir' || event === 'unlinkDir') this.#pending.lastProfileChanged = true; // a whole folder came or went
      clearTimeout(this.#timer);
      this.#timer = setTimeout(() => {
        const change = this.#pending;
        this.#pending = emptyChange();
        onChange(change);
      }, debounceMs);
    });
    this.#watcher.on('error', () => {}); // a vanished folder is seen again by the periodic resync
  }

  ready(): Promise<void> {
    return new Promise((resolve) => this.#watcher.once('ready', () => resolve()));
  }

  async close(): Promise<void> {
    clearTimeout(this.#timer);
    await this.#watcher.close();
  }
}

function emptyChange(): ConfigChange {
  return { handles: new Set(), credentialsChanged: new Set(), lastProfileChanged: false };
}
