import { readJsonFile, writeJsonFileAtomic } from '../shared/json-file.ts';
import { parseHandle, type Handle } from '../shared/handle.ts';
import type { Logger } from '../shared/logger.ts';
import { KeyedMutex } from '../shared/keyed-mutex.ts';

/** Stable worker ports (`ports.json`): a handle keeps its port across restarts, so
 *  `http://127.0.0.1:<port>/` stays a valid direct URL for debugging. */
export class PortRegistry {
  readonly #file: string;
  readonly #base: number;
  readonly #reserved: Set<number>;
  readonly #log: Logger;
  readonly #ports = new Map<Handle, number>();
  readonly #lock = new KeyedMutex();
  /** False when ports.json was corrupt: it is kept for a person to look at, and ports live in memory only. */
  #persist = true;

  private constructor(file: string, base: number, reserved: number[], log: Logger) {
    this.#file = file;
    this.#base = base;
    this.#reserved = new Set(reserved);
    this.#log = log;
  }

  static async load(file: string, base: number, reserved: number[], log: Logger): Promise<PortRegistry> {
    const registry = new PortRegistry(file, base, reserved, log);
    const read = await readJsonFile<Record<string, unknown>>(file);
    if (read.status === 'corrupt' || (read.status === 'ok' && (typeof read.value !== 'object' || read.value === null || Array.isArray(read.value)))) {
      registry.#persist = false;
      log.error({ file, reason: read.status === 'corrupt' ? read.reason : 'not a JSON object' }, 'corrupt ports.json kept as it is; ports are assigned in memory until it is fixed');
    } else if (read.status === 'ok') {
      for (const [key, value] of Object.entries(read.value)) {
        const handle = parseHandle(key);
        if (handle === key && Number.isInteger(value) && (value as number) > 0 && (value as number) < 65536) {
          registry.#ports.set(handle, value as number);
        } else {
          log.warn({ file, entry: key }, 'ignoring an invalid entry of ports.json');
        }
      }
    }
    return registry;
  }

  /** The handles' ports, assigning the lowest free ones from the base to those without one, and saving
   *  ports.json once for all of them (a cold start of many profiles writes it once, not once each). */
  portsFor(handles: Handle[]): Promise<Map<Handle, number>> {
    return this.#lock.run('ports', async () => {
      const fresh = handles.filter((h) => !this.#ports.has(h));
      if (fresh.length > 0) {
        const taken = new Set([...this.#ports.values(), ...this.#reserved]);
        let port = this.#base;
        for (const handle of fresh) {
          while (taken.has(port)) port += 1;
          this.#ports.set(handle, port);
          taken.add(port);
        }
        await this.#save();
      }
      return new Map(handles.map((h) => [h, this.#ports.get(h)!]));
    });
  }

  async #save(): Promise<void> {
    if (!this.#persist) return;
    try {
      await writeJsonFileAtomic(this.#file, Object.fromEntries([...this.#ports].sort(([a], [b]) => a.localeCompare(b))));
    } catch (error) {
      this.#log.error({ err: error, file: this.#file }, 'cannot save ports.json; the ports hold until the supervisor restarts');
    }
  }
}
