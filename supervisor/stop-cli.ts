// `npm run stop`: stops the whole system of this config dir at once — every supervisor of it (shards
// included) and every worker with its Chrome — gracefully. A service manager's stop or restart leaves the
// workers to the next supervisor instead (README, "Running it for real"); this is the command for "nothing
// may keep running".
import fs from 'node:fs';
import { resolveConfigDir } from '../shared/profiles/paths.ts';
import { loadSettings } from '../shared/runtime/settings.ts';
import { runningSupervisor } from './control/supervisor-record.ts';
import { configRuntimeDir, removeRuntimeDir, runtimeDirsOf, workerRecordsDir } from './workers/runtime-dir.ts';
import { descendants, killAll } from './workers/process-tree.ts';
import { WorkerRecords, isSameProcess } from './workers/worker-records.ts';

const configDir = resolveConfigDir();
const stopTimeoutMs = await loadSettings(configDir).then(
  ({ settings }) => settings.STOP_TIMEOUT_MS,
  () => 10_000,
);
const say = (text: string) => process.stdout.write(`${text}\n`);

/** Waits until `alive` is false or `ms` passed; whether it is gone. */
async function gone(alive: () => boolean, ms: number): Promise<boolean> {
  const deadline = performance.now() + ms;
  while (alive() && performance.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
  return !alive();
}

/** One supervisor's folder: the supervisor first (it stops its workers), then any worker it did not hold. */
async function stopOne(runtime: string): Promise<boolean> {
  const supervisor = await runningSupervisor(runtime);
  if (supervisor) {
    say(`stopping the supervisor (pid ${supervisor.pid}) and its workers…`);
    process.kill(supervisor.pid, 'SIGUSR2');
    if (!(await gone(() => isSameProcess(supervisor.pid, supervisor.proc_start), stopTimeoutMs + 3000))) {
      process.stderr.write(`the supervisor (pid ${supervisor.pid}) did not stop within ${stopTimeoutMs + 3000} ms; killing it\n`);
      killAll([supervisor.pid]);
    }
  }
  // Workers no supervisor holds (it was killed, or had not taken them back yet): each recorded process, while
  // it is still the very one recorded, gets a graceful stop, then SIGKILL with what it started and its Chrome.
  const records = await new WorkerRecords(workerRecordsDir(runtime)).list();
  const left = records.filter((r) => isSameProcess(r.pid, r.proc_start));
  for (const record of left) process.kill(record.pid, 'SIGTERM');
  if (left.length > 0) say(`stopping ${left.length} worker(s) no supervisor holds: ${left.map((r) => r.name).join(', ')}`);
  await gone(() => left.some((r) => isSameProcess(r.pid, r.proc_start)), stopTimeoutMs + 1000);
  for (const record of records) {
    const tree = isSameProcess(record.pid, record.proc_start) ? [record.pid, ...descendants(record.pid)] : [];
    const browser = record.browser && isSameProcess(record.browser.pid, record.browser.proc_start) ? [record.browser.pid] : [];
    killAll([...tree, ...browser]);
  }
  removeRuntimeDir(runtime);
  return supervisor !== null || left.length > 0;
}

const stopped = await Promise.all(runtimeDirsOf(configDir).map(stopOne));
fs.rmSync(configRuntimeDir(configDir), { recursive: true, force: true });
say(stopped.some(Boolean) ? 'stopped: no supervisor and no worker runs for this config dir' : 'nothing was running for this config dir');
