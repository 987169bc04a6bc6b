import fs from 'node:fs/promises';
import type { Logger } from '../../shared/runtime/logger.ts';
import { readJsonFile, writeJsonFileAtomic } from '../../shared/files/json-file.ts';
import { KeyedMutex } from '../../shared/files/keyed-mutex.ts';
import type { SessionBackend } from './backend.ts';

/** `sessions/session_{h}.json`, rewritten atomically on every change; survives recycles. */
export class FileBackend implements SessionBackend {
  readonly name = 'file' as const;
  readonly #file: string;
  readonly #data: Map<string, unknown>;
  readonly #lock = new KeyedMutex();

  private constructor(file: string, data: Map<string, unknown>) {
    this.#file = file;
    this.#data = data;
  }

  /** A corrupt file is moved aside (kept for a person to look at) and the session starts empty. */
  static async open(file: string, log: Logger): Promise<FileBackend> {
    const read = await readJsonFile<Record<string, unknown>>(file);
    let entries: [string, unknown][] = [];
    if (read.status === 'ok' && typeof read.value === 'object' && read.value !== null && !Array.isArray(read.value)) {
      entries = Object.entries(read.value);
    } else if (read.status !== 'missing') {
      const aside = `${file}.corrupt-${Date.now()}`;
      await fs.rename(file, aside).catch(() => {});
      log.error({ file, kept_as: aside, reason: read.status === 'corrupt' ? read.reason : 'not a JSON object' }, 'corrupt session file moved aside; starting with an empty session');
    }
    return new FileBackend(file, new Map(entries));
  }

  async get(key: string) {
    return structuredClone(this.#data.get(key));
  }

  set(key: string, value: unknown) {
    return this.#write(() => {
      this.#data.set(key, JSON.parse(JSON.stringify(value)));
    });
  }

  async delete(key: string) {
    let existed = false;
    await this.#write(() => (existed = this.#data.delete(key)));
    return existed;
  }

  async keys() {
    return [...this.#data.keys()];
  }

  async clear(belongs: (key: string) => boolean) {
    let keys: string[] = [];
    await this.#write(() => {
      keys = [...this.#data.keys()].filter(belongs);
      for (const key of keys) this.#data.delete(key);
      return keys.length > 0;
    });
    return keys.length;
  }

  async close() {
    await this.#lock.run('file', async () => {});
  }

  /** Applies the change and writes the file; on a failed write the change is undone, so what is in memory
   *  is always what is on disk and a failed save is never reported as done. A change that says it changed
   *  nothing (`false`: a delete of a key that is not there) writes nothing: each start deletes the flags of
   *  earlier processes, and three atomic writes with their fsyncs cost it ~10 ms for nothing. */
  #write(change: () => boolean | void): Promise<void> {
    return this.#lock.run('file', async () => {
      const before = new Map(this.#data);
      if (change() === false) return;
      try {
        await writeJsonFileAtomic(this.#file, Object.fromEntries(this.#data), { secret: true });
      } catch (error) {
        this.#data.clear();
        for (const [k, v] of before) this.#data.set(k, v);
        throw error;
      }
    });
  }
}
