import net from 'node:net';
import { readJsonFile, writeJsonFileAtomic } from '../../shared/files/json-file.ts';
import { parseHandle, type Handle } from '../../shared/profiles/handle.ts';
import type { Logger } from '../../shared/runtime/logger.ts';
import { KeyedMutex } from '../../shared/files/keyed-mutex.ts';

/** How many ports above a taken one `move` tries before it gives up. */
export const MOVE_SEARCH_SPAN = 1000;

export interface PortRegistryOptions {
  /** How many ports above a taken one `move` tries (default `MOVE_SEARCH_SPAN`). */
  moveSearchSpan?: number;
  /** Whether nothing listens on the port right now (default: bind 127.0.0.1:port and close it). */
  isFree?: (port: number) => Promise<boolean>;
}

/** True when the port can be bound on 127.0.0.1 right now (where workers listen); released at once. */
export function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once('error', () => resolve(false));
    server.listen({ port, host: '127.0.0.1', exclusive: true }, () => server.close(() => resolve(true)));
  });
}

/** Stable worker ports (`ports.json`): a handle keeps its port across restarts, so
 *  `http://127.0.0.1:<port>/` stays a valid direct URL for debugging — unless another program took it, and
 *  then `move` gives the handle the next free port above it, saved the same way. */
export class PortRegistry {
  readonly #file: string;
  readonly #base: number;
  readonly #reserved: Set<number>;
  readonly #log: Logger;
  readonly #span: number;
  readonly #isFree: (port: number) => Promise<boolean>;
  readonly #ports = new Map<Handle, number>();
  readonly #lock = new KeyedMutex();
  /** Ports `move` found taken by another program: not handed to new handles until the supervisor restarts. */
  readonly #foundTaken = new Set<number>();
  /** False when ports.json was corrupt: it is kept for a person to look at, and ports live in memory only. */
  #persist = true;

  /** Whether the ports reach ports.json (false while it is corrupt: they hold in memory only). */
  get savesToFile(): boolean {
    return this.#persist;
  }

  private constructor(file: string, base: number, reserved: number[], log: Logger, options: PortRegistryOptions) {
    this.#file = file;
    this.#base = base;
    this.#reserved = new Set(reserved);
    this.#log = log;
    this.#span = options.moveSearchSpan ?? MOVE_SEARCH_SPAN;
    this.#isFree = options.isFree ?? portIsFree;
  }

  static async load(file: string, base: number, reserved: number[], log: Logger, options: PortRegistryOptions = {}): Promise<PortRegistry> {
    const registry = new PortRegistry(file, base, reserved, log, options);
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
        const taken = new Set([...this.#ports.values(), ...this.#reserved, ...this.#foundTaken]);
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

  /** Another program holds `taken`, the handle's port: gives the handle the lowest port above it that no
   *  other handle holds, that is not reserved (the supervisor's own port) and that can be bound right now,
   *  and saves ports.json. Tries at most `moveSearchSpan` ports (and none above 65535); `null` when none
   *  fits, and the handle keeps its port. When the handle's port is no longer `taken` (it was moved
   *  already), that port is the answer. */
  move(handle: Handle, taken: number): Promise<number | null> {
    return this.#lock.run('ports', async () => {
      const current = this.#ports.get(handle);
      if (current !== undefined && current !== taken) return current;
      this.#foundTaken.add(taken);
      const others = new Set([...this.#ports].filter(([h]) => h !== handle).map(([, port]) => port));
      const last = Math.min(taken + this.#span, 65535);
      for (let port = taken + 1; port <= last; port++) {
        if (others.has(port) || this.#reserved.has(port)) continue;
        if (!(await this.#isFree(port))) continue;
        this.#ports.set(handle, port);
        await this.#save();
        return port;
      }
      this.#log.warn({ handle, taken, searched: `${taken + 1}-${last}` }, 'no free port found to move the worker to');
      return null;
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
