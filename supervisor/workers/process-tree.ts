import fs from 'node:fs';

/** Every live descendant of `pid` (Linux /proc; empty elsewhere). Read before a kill, since a process whose
 *  parent died is re-parented and can no longer be found from it. */
export function descendants(pid: number): number[] {
  let entries: string[];
  try {
    entries = fs.readdirSync('/proc').filter((e) => /^\d+$/.test(e));
  } catch {
    return [];
  }
  const children = new Map<number, number[]>();
  for (const entry of entries) {
    const ppid = parentOf(Number(entry));
    if (ppid === null) continue;
    const list = children.get(ppid) ?? [];
    list.push(Number(entry));
    children.set(ppid, list);
  }
  const out: number[] = [];
  const stack = [...(children.get(pid) ?? [])];
  while (stack.length > 0) {
    const next = stack.pop()!;
    out.push(next);
    stack.push(...(children.get(next) ?? []));
  }
  return out;
}

function parentOf(pid: number): number | null {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may contain spaces and parentheses: parse after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return Number(fields[1]);
  } catch {
    return null;
  }
}

/** Resident memory of a process in bytes, or null when it is gone. */
export function rssBytes(pid: number): number | null {
  try {
    const statm = fs.readFileSync(`/proc/${pid}/statm`, 'utf8');
    return Number(statm.split(' ')[1]) * 4096;
  } catch {
    return null;
  }
}

/** SIGKILL to each pid and to each one's process group (Chrome runs in a group of its own). */
export function killAll(pids: Iterable<number>): void {
  for (const pid of pids) {
    if (!isProcessId(pid)) continue;
    for (const target of [-pid, pid]) {
      try {
        process.kill(target, 'SIGKILL');
      } catch {
        // not a group leader, or already gone
      }
    }
  }
}

/** A pid that names one process: 0, -1 and negative numbers name groups or every process, 1 is init. */
export function isProcessId(pid: number): boolean {
  return Number.isInteger(pid) && pid > 1;
}
