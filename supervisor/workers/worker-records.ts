import fs from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { readJsonFile, writeJsonFileAtomic } from '../../shared/files/json-file.ts';
import { KeyedMutex } from '../../shared/files/keyed-mutex.ts';

/** What a supervisor keeps of each worker process it started, in its private runtime folder, so that the
 *  next supervisor can take the worker back: the process (pid and start time, which a reused pid does not
 *  share), the secret only that worker was given, and what the worker was started for. */
export const WorkerRecord = z.object({
  name: z.string(),
  role: z.enum(['profile', 'setup']),
  pid: z.number().int().positive(),
  /** The process's start time (`/proc/<pid>/stat`, clock ticks since boot). */
  proc_start: z.string(),
  secret: z.string().min(16),
  /** When it was spawned (ms since the epoch): its uptime on the dashboard. */
  started_at: z.number(),
  /** Its spec's port and fingerprints, as reconcile compares them. */
  port: z.number().int().min(0),
  config: z.string(),
  files: z.string(),
  /** Its crashes so far, for the dashboard's restart count. */
  restarts: z.number().int().min(0),
  /** Its Chrome, killed by whoever finds the worker gone and the Chrome still there. */
  browser: z.object({ pid: z.number().int().positive(), proc_start: z.string() }).nullable(),
});
export type WorkerRecord = z.infer<typeof WorkerRecord>;

/** One file per worker; the changes to one are made one after another. */
export class WorkerRecords {
  readonly #dir: string;
  readonly #mutex = new KeyedMutex();

  constructor(dir: string) {
    this.#dir = dir;
  }

  #file(name: string): string {
    return path.join(this.#dir, `${name}.json`);
  }

  write(record: WorkerRecord): Promise<void> {
    return this.#mutex.run(record.name, () => writeJsonFileAtomic(this.#file(record.name), record, { secret: true }));
  }

  /** Changes the record of worker `name` if it is still of process `pid`. */
  update(name: string, pid: number, change: Partial<Pick<WorkerRecord, 'browser' | 'restarts'>>): Promise<void> {
    return this.#mutex.run(name, async () => {
      const record = await this.read(name);
      if (record?.pid === pid) await writeJsonFileAtomic(this.#file(name), { ...record, ...change }, { secret: true });
    });
  }

  /** Forgets the worker `name`, if the record is still of process `pid` (a newer one is kept). */
  remove(name: string, pid: number): Promise<void> {
    return this.#mutex.run(name, async () => {
      const read = await readJsonFile<WorkerRecord>(this.#file(name));
      if (read.status === 'ok' && read.value.pid !== pid) return;
      await fs.promises.rm(this.#file(name), { force: true });
    });
  }

  /** Forgets every worker (the whole system stopped). */
  clear(): void {
    fs.rmSync(this.#dir, { recursive: true, force: true });
  }

  async read(name: string): Promise<WorkerRecord | null> {
    const read = await readJsonFile(this.#file(name));
    if (read.status !== 'ok') return null;
    const parsed = WorkerRecord.safeParse(read.value);
    return parsed.success && parsed.data.name === name ? parsed.data : null;
  }

  /** Every record that can be read; one that cannot is removed (it can prove nothing). */
  async list(): Promise<WorkerRecord[]> {
    let names: string[];
    try {
      names = fs.readdirSync(this.#dir).filter((n) => n.endsWith('.json') && !n.startsWith('.'));
    } catch {
      return [];
    }
    const records: WorkerRecord[] = [];
    for (const file of names) {
      const record = await this.read(file.slice(0, -'.json'.length));
      if (record) records.push(record);
      else fs.rmSync(path.join(this.#dir, file), { force: true });
    }
    return records;
  }
}

/** A process's start time as the kernel tells it (`/proc/<pid>/stat`, field 22), or null when there is no
 *  such process (or only its zombie). Together with the pid it names one process for the life of the machine. */
export function processStartTime(pid: number): string | null {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) is in parentheses and may hold spaces: count from the last ")".
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // A zombie (exited, not yet reaped: an orphan's parent may be slow to reap) is no process any more.
    if (fields[0] === 'Z' || fields[0] === 'X') return null;
    return fields[19] ?? null;
  } catch {
    return null;
  }
}

/** Whether `pid` is still the very process that had this start time. */
export function isSameProcess(pid: number, procStart: string): boolean {
  return processStartTime(pid) === procStart;
}
