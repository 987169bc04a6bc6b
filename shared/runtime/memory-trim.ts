import type { Server } from 'node:http';
import v8 from 'node:v8';
import vm from 'node:vm';

/** How long a process must be quiet before it gives memory back. */
const QUIET_MS = 2000;

/** After a burst of requests, once nothing has come for `QUIET_MS`, one full garbage collection that also
 *  shrinks V8's young generation: start-up and traffic grow it to 16 MB, and V8 never gives that back by
 *  itself. An idle process then holds ~8 MB less. The collection runs only while nothing is in flight on
 *  `servers` (the worker's; the supervisor's, where upgrades and proxied streams count as in flight). */
export function trimMemoryWhenQuiet(servers: Server[]): void {
  v8.setFlagsFromString('--expose-gc');
  const gc = vm.runInNewContext('gc') as (options: { type: 'major'; execution: 'sync'; flavor: 'last-resort' }) => void;
  let inFlight = 0;
  const timer = setTimeout(() => {
    if (inFlight === 0) gc({ type: 'major', execution: 'sync', flavor: 'last-resort' });
  }, QUIET_MS);
  timer.unref();
  for (const server of servers) {
    server.on('request', (_req, res) => {
      inFlight += 1;
      res.once('close', () => {
        inFlight -= 1;
        if (inFlight === 0) timer.refresh(); // re-armed after each burst, also once it has fired
      });
    });
  }
}
