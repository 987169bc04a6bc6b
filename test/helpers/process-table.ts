// Finding processes in /proc (Linux only): parents, children, command lines, and every process that carries a
// given environment variable (a test-unique temp dir: so they are ours), for pm2 and nginx suites whose
// processes are not our children.
import fs from 'node:fs';
import { SUPERVISOR_COMMAND, WORKER_COMMAND, isRunning } from './processes.ts';

/** The fields of `/proc/<pid>/stat` after the command name (`state` first), or null when it is gone. */
export function statFields(pid: number): string[] | null {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  } catch {
    return null;
  }
}

export function parentOf(pid: number): number | null {
  const fields = statFields(pid);
  return fields ? Number(fields[1]) : null;
}

export function cmdlineOf(pid: number): string {
  try {
    return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ').trim();
  } catch {
    return '';
  }
}

/** Live processes whose environment holds exactly `KEY=value` (a test-unique temp dir, so they are ours). */
export function processesWithEnv(key: string, value: string): { pid: number; cmdline: string }[] {
  const needle = `${key}=${value}`;
  const out: { pid: number; cmdline: string }[] = [];
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const pid = Number(entry);
    if (pid === process.pid) continue;
    let environ: string;
    try {
      environ = fs.readFileSync(`/proc/${pid}/environ`, 'utf8');
    } catch {
      continue;
    }
    if (!environ.split('\0').includes(needle) || !isRunning(pid)) continue;
    out.push({ pid, cmdline: cmdlineOf(pid) });
  }
  return out;
}

/** Supervisor and worker processes that run with `TAT_CONFIG_DIR=<dir>`. */
export function projectProcesses(configDir: string): { supervisors: number[]; workers: number[] } {
  const all = processesWithEnv('TAT_CONFIG_DIR', configDir);
  return {
    supervisors: all.filter((p) => SUPERVISOR_COMMAND.test(p.cmdline)).map((p) => p.pid),
    workers: all.filter((p) => WORKER_COMMAND.test(p.cmdline)).map((p) => p.pid),
  };
}

/** Safety net for cleanup: SIGKILL every live process whose environment holds `KEY=value`. */
export function killProcessesWithEnv(key: string, value: string): number[] {
  const killed: number[] = [];
  for (const { pid } of processesWithEnv(key, value)) {
    try {
      process.kill(pid, 'SIGKILL');
      killed.push(pid);
    } catch {
      // gone
    }
  }
  return killed;
}

/** A supervisor's spare worker: its child whose command line says it waits for a profile. */
export function spareWorkerOf(supervisorPid: number): number | null {
  return childrenOf(supervisorPid).find((pid) => cmdlineOf(pid).includes('spare worker, waiting for a profile')) ?? null;
}

/** Children of a process (one level). */
export function childrenOf(pid: number): number[] {
  const out: number[] = [];
  for (const entry of fs.readdirSync('/proc')) {
    if (/^\d+$/.test(entry) && parentOf(Number(entry)) === pid) out.push(Number(entry));
  }
  return out;
}
