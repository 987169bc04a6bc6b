import fs from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { readJsonFile, writeJsonFileAtomic } from '../../shared/files/json-file.ts';
import { isSameProcess, processStartTime } from '../workers/worker-records.ts';

/** Which process is the supervisor of a config dir now (`supervisor.json` in its runtime folder): one at a
 *  time may hold the control socket its workers dial, and `npm run stop` finds it here. */
const SupervisorRecord = z.object({ pid: z.number().int().positive(), proc_start: z.string(), port: z.number().int().min(0).nullable(), started_at: z.number() });
export type SupervisorRecord = z.infer<typeof SupervisorRecord>;

export function supervisorRecordFile(runtime: string): string {
  return path.join(runtime, 'supervisor.json');
}

/** The supervisor recorded for this runtime folder, if that very process still runs. */
export async function runningSupervisor(runtime: string): Promise<SupervisorRecord | null> {
  const read = await readJsonFile(supervisorRecordFile(runtime));
  const parsed = read.status === 'ok' ? SupervisorRecord.safeParse(read.value) : null;
  if (!parsed?.success) return null;
  return parsed.data.pid !== process.pid && isSameProcess(parsed.data.pid, parsed.data.proc_start) ? parsed.data : null;
}

/** Waits up to `waitMs` for an earlier supervisor that is still leaving (a restart: the old one finishes
 *  its requests while this one starts); the one still running after that, or null. */
export async function earlierSupervisor(runtime: string, waitMs: number): Promise<SupervisorRecord | null> {
  const deadline = performance.now() + waitMs;
  let running = await runningSupervisor(runtime);
  while (running && performance.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 50));
    running = await runningSupervisor(runtime);
  }
  return running;
}

export async function recordSupervisor(runtime: string, port: number | null): Promise<void> {
  await writeJsonFileAtomic(supervisorRecordFile(runtime), { pid: process.pid, proc_start: processStartTime(process.pid) ?? '', port, started_at: Date.now() }, { secret: true });
}

/** This supervisor is gone: its record goes (if it is still its own). */
export function forgetSupervisor(runtime: string): void {
  try {
    const record = JSON.parse(fs.readFileSync(supervisorRecordFile(runtime), 'utf8')) as { pid?: number };
    if (record.pid === process.pid) fs.rmSync(supervisorRecordFile(runtime), { force: true });
  } catch {
    // none
  }
}
