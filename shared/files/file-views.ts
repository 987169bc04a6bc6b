import fs from 'node:fs';
import path from 'node:path';
import type { Logger } from '../runtime/logger.ts';

/** What is known about files, kept true by the files' own changes (docs/architecture.md, "What a worker keeps
 *  in memory"): a value computed from a file (its parsed content, whether it exists, a folder's listing) is
 *  computed again only after the kernel reported a change in the file's folder that names it. Every folder is
 *  watched with inotify (`fs.watch`); a folder that cannot be watched is not cached at all.
 *
 *  Never a stale answer: a change made before a request arrived is queued by the kernel before the request's
 *  bytes are, so both are ready in the same turn of the event loop at the latest; `view` answers only after
 *  that turn's I/O callbacks have run (a `setImmediate`), i.e. after the change was seen. */
export class FileViews {
  readonly #log: Logger;
  readonly #folders = new Map<string, Folder>();
  #settled: Promise<void> | null = null;

  constructor(log: Logger) {
    this.#log = log;
  }

  /** `load()`'s value for `file` under `kind`, from memory while no change in its folder named it. */
  view<T>(file: string, kind: string, load: () => Promise<T>): Promise<T> {
    return this.#view(path.dirname(file), `${path.basename(file)}\0${kind}`, load);
  }

  /** The names in `dir` (an absent folder lists nothing), from memory while no change in it was reported. */
  listing(dir: string): Promise<string[]> {
    return this.#view(dir, LISTING, () => listNames(dir));
  }

  async #view<T>(dir: string, key: string, load: () => Promise<T>): Promise<T> {
    await this.#afterPendingChanges();
    const folder = this.#folder(dir);
    if (!folder) return load();
    let entry = folder.values.get(key) as Promise<T> | undefined;
    if (!entry) {
      // Any handle may be asked about (check-credentials): what is kept per folder is bounded.
      if (folder.values.size >= MAX_KEPT_PER_FOLDER) folder.values.clear();
      entry = load();
      folder.values.set(key, entry);
      // A failed load is not remembered: the next caller tries again.
      entry.catch(() => folder.values.get(key) === entry && folder.values.delete(key));
    }
    return entry;
  }

  /** Forgets what is known about `file` (after this process changed it: its own event may come later). */
  forget(file: string): void {
    const folder = this.#folders.get(path.dirname(file));
    if (folder) forgetName(folder, path.basename(file));
  }

  #afterPendingChanges(): Promise<void> {
    this.#settled ??= new Promise<void>((resolve) =>
      setImmediate(() => {
        this.#settled = null;
        resolve();
      }),
    );
    return this.#settled;
  }

  /** The watched folder, or null when it cannot be watched (then nothing in it is cached). */
  #folder(dir: string): Folder | null {
    const known = this.#folders.get(dir);
    if (known) return known;
    const folder: Folder = { values: new Map(), watcher: null };
    const base = path.basename(dir);
    // The folder itself removed or replaced, or the watch lost (inotify's queue overflowed): start over.
    const drop = () => {
      folder.watcher?.close();
      folder.values.clear();
      if (this.#folders.get(dir) === folder) this.#folders.delete(dir);
    };
    try {
      folder.watcher = fs.watch(dir, { persistent: false }, (event, name) => {
        if (name === null) return drop();
        if (event === 'rename' && name === base) return drop(); // its own removal or move
        forgetName(folder, name);
      });
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code !== 'ENOENT' && code !== 'ENOTDIR') {
        this.#log.warn({ dir, code }, 'cannot watch a folder; its files are read on every request');
        return null;
      }
      // An absent folder (nothing of that kind saved yet) is normal: its files are absent until its parent
      // reports it was made; then it is watched itself.
      const parent = path.dirname(dir);
      try {
        folder.watcher = fs.watch(parent, { persistent: false }, (_event, name) => {
          if (name === null || name === base || name === path.basename(parent)) drop();
        });
      } catch {
        return null;
      }
      // Made between the two watches: its making was not seen, so it is not cached this time.
      if (fs.existsSync(dir)) {
        folder.watcher.close();
        return null;
      }
    }
    folder.watcher.on('error', drop);
    this.#folders.set(dir, folder);
    return folder;
  }
}

/** Values kept per folder before they are all let go (a worker asks about its own few files). */
export const MAX_KEPT_PER_FOLDER = 256;

/** A folder's listing is kept under a key no file name can have. */
const LISTING = '\0listing';

/** A change to `name` changes what is known about it, and the folder's listing. */
function forgetName(folder: Folder, name: string): void {
  folder.values.delete(LISTING);
  const prefix = `${name}\0`;
  for (const key of folder.values.keys()) if (key.startsWith(prefix)) folder.values.delete(key);
}

interface Folder {
  values: Map<string, Promise<unknown>>;
  watcher: fs.FSWatcher | null;
}

/** The names in `dir`; an absent folder lists nothing. */
export async function listNames(dir: string): Promise<string[]> {
  try {
    return await fs.promises.readdir(dir);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return [];
    throw error;
  }
}
