import type { Server } from 'node:http';
import v8 from 'node:v8';
import vm from 'node:vm';

/** How long a process must be quiet after a burst of requests before it gives memory back. */
const QUIET_MS = 2000;
/** How long after its start a process that has had no request gives memory back. Longer: the collection
 *  costs a worker 40–90 ms of CPU, and at a cold start the other workers are still starting for the first
 *  seconds; taken then, it would be taken from their starts (docs/benchmarks.md). */
const QUIET_AFTER_START_MS = 10_000;

export interface TrimOptions {
  /** The collection; by default a full one that also shrinks the young generation. */
  collect?: () => void;
  quietMs?: number;
  afterStartMs?: number;
}

/** Once nothing has come for `QUIET_MS` after a burst of requests (or for `QUIET_AFTER_START_MS` after the
 *  start, when none came), one full garbage collection that also shrinks V8's young generation: start-up
 *  and traffic grow it to 16 MB, and V8 never gives that back by itself. An idle process then holds ~10 MB
 *  less. The collection runs only while nothing is in flight on `servers` (the worker's; the supervisor's,
 *  where upgrades and proxied streams count as in flight). */
export function trimMemoryWhenQuiet(servers: Server[], options: TrimOptions = {}): void {
  const collect = options.collect ?? fullCollection();
  const quietMs = options.quietMs ?? QUIET_MS;
  let inFlight = 0;
  const trimIfQuiet = () => {
    if (inFlight === 0) collect();
  };
  let timer = setTimeout(trimIfQuiet, options.afterStartMs ?? QUIET_AFTER_START_MS);
  timer.unref();
  for (const server of servers) {
    server.on('request', (_req, res) => {
      inFlight += 1;
      res.once('close', () => {
        inFlight -= 1;
        if (inFlight > 0) return;
        // Armed again after each burst, also once it has fired.
        clearTimeout(timer);
        timer = setTimeout(trimIfQuiet, quietMs);
        timer.unref();
      });
    });
  }
}

function fullCollection(): () => void {
  v8.setFlagsFromString('--expose-gc');
  const gc = vm.runInNewContext('gc') as (options: { type: 'major'; execution: 'sync'; flavor: 'last-resort' }) => void;
  return () => gc({ type: 'major', execution: 'sync', flavor: 'last-resort' });
}
