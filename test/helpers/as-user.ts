// The supervisor run as an unprivileged user (the suites run as root), for what only permissions can show: a
// config dir it may read but not write.
import path from 'node:path';
import { killWorkers, rememberWorker, startEntry, type Started } from './processes.ts';

export interface UnprivilegedSupervisor extends Started {
  port: number;
  /** Worker pids seen in the supervisor's log lines. */
  workerPids(): Set<number>;
  /** SIGKILL of the supervisor's process group, then of every worker it was seen running. */
  cleanup(): Promise<void>;
}

/** Runs the supervisor (compiled) as `uid`:`gid` (e.g. 65534 nobody) with a minimal environment: HOME, the
 *  compile cache and the runtime folder in `home` (which that user must own, and the test removes). */
export function startSupervisorAs(uid: number, gid: number, env: Record<string, string>, home: string): UnprivilegedSupervisor {
  const proc = startEntry('supervisor/main.ts', { HOME: home, NODE_COMPILE_CACHE: path.join(home, 'compile-cache'), RUNTIME_DIRECTORY: path.join(home, 'run'), ...env }, { uid, gid });
  const workerPids = () => {
    const pids = new Set(proc.lines.flatMap((l) => ('handle' in l && typeof l.pid === 'number' && l.pid !== proc.pid ? [l.pid] : [])));
    for (const pid of pids) rememberWorker(pid);
    return pids;
  };
  return {
    ...proc,
    port: Number(env.PORT),
    workerPids,
    async cleanup() {
      const pids = workerPids();
      await proc.kill();
      await killWorkers(pids);
    },
  };
}
