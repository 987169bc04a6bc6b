import type { SessionBackend } from './backend.ts';

/** For tests and throwaway runs: nothing survives the process. */
export class MemoryBackend implements SessionBackend {
  readonly name = 'memory' as const;
  readonly #data = new Map<string, string>();

  async get(key: string) {
    const raw = this.#data.get(key);
    return raw === undefined ? undefined : JSON.parse(raw);
  }
  async set(key: string, value: unknown) {
    this.#data.set(key, JSON.stringify(value));
  }
  async delete(key: string) {
    return this.#data.delete(key);
  }
  async keys() {
    return [...this.#data.keys()];
  }
  async clear(belongs: (key: string) => boolean) {
    const keys = [...this.#data.keys()].filter(belongs);
    for (const key of keys) this.#data.delete(key);
    return keys.length;
  }
  async close() {}
}
