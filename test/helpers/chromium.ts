import assert from 'node:assert/strict';
import fs from 'node:fs';

/** Session keys that earlier versions wrote for the browser's live state. That state is read from
 *  GET /api/browser-status (`ready`, `automation`) and GET /healthz (`browser_ready`); none of it is written
 *  to the session store (a worker still removes these keys at start, left by those earlier versions). */
export const BROWSER_FLAGS = ['browser_ready', 'mis_logged_in', 'automation_in_progress'] as const;

/** None of `BROWSER_FLAGS` is among a session's values (`where`: which session, for the message). */
export function assertNoBrowserFlags(values: Record<string, unknown>, where: string): void {
  for (const flag of BROWSER_FLAGS) assert.ok(!(flag in values), `${flag} is in ${where}: ${JSON.stringify(values)}`);
}

/** The Chrome the suites use: `CHROME_PATH`, else Debian's `/usr/bin/chromium`. */
export function chromiumAvailability(): { available: boolean; path: string; reason: string } {
  const candidate = process.env.CHROME_PATH || '/usr/bin/chromium';
  try {
    fs.accessSync(candidate, fs.constants.X_OK);
    return { available: true, path: candidate, reason: '' };
  } catch {
    return { available: false, path: candidate, reason: `${candidate} is not an executable (install Debian's chromium or set CHROME_PATH)` };
  }
}

/** Live processes whose command line mentions `needle` (a profile's Chrome user-data dir): Chrome itself and
 *  every helper process it started. Zombies (empty command line) do not count. Linux only (/proc). */
export function processesMentioning(needle: string): number[] {
  const pids: number[] = [];
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    let cmdline: string;
    try {
      cmdline = fs.readFileSync(`/proc/${entry}/cmdline`, 'utf8');
    } catch {
      continue; // gone meanwhile
    }
    if (cmdline.includes(needle)) pids.push(Number(entry));
  }
  return pids;
}

/** Safety net for cleanup: SIGKILL every process still mentioning the (test-unique) user-data dir. */
export function killProcessesMentioning(needle: string): void {
  for (const pid of processesMentioning(needle)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
}

/** `rootPid` and all its descendants right now (Chrome's GPU and utility helpers carry no --user-data-dir on
 *  their command line, so the tree is how to find them). */
export function processTree(rootPid: number): number[] {
  const children = new Map<number, number[]>();
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let stat: string;
    try {
      stat = fs.readFileSync(`/proc/${entry}/stat`, 'utf8');
    } catch {
      continue;
    }
    const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    const list = children.get(ppid) ?? [];
    list.push(Number(entry));
    children.set(ppid, list);
  }
  const out: number[] = [];
  const walk = (pid: number) => {
    out.push(pid);
    for (const child of children.get(pid) ?? []) walk(child);
  };
  walk(rootPid);
  return out;
}

/** The pids of `pids` that still run a Chrome binary (not gone, not a zombie, not reused by something else). */
export function stillRunningChrome(pids: number[]): number[] {
  return pids.filter((pid) => {
    try {
      return /chrom/i.test(fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8'));
    } catch {
      return false;
    }
  });
}
