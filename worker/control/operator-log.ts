import type { DestinationStream } from 'pino';
import { pino } from '../../shared/runtime/cjs-imports.ts';
import { logDestination } from '../../shared/runtime/logger.ts';

/** The operator's log, written by the worker itself: pm2's output file when pm2 runs the supervisor (pm2
 *  names it in `pm_out_log_path`; the pipe pm2 gave the supervisor closes with it), else the output it was
 *  given (a terminal, journald's stream, a file). Readable lines on a terminal, JSON lines elsewhere, as the
 *  supervisor writes its own. An output that went away (a closed pipe) is given up, never a crash. */
export function operatorLog(env: NodeJS.ProcessEnv = process.env): DestinationStream {
  const pm2File = env.pm_out_log_path;
  const raw = pm2File ? pino.destination({ dest: pm2File, append: true, sync: true }) : pino.destination({ sync: true });
  let open = true;
  const out: DestinationStream = {
    write(line: string) {
      if (!open) return;
      try {
        raw.write(line);
      } catch {
        open = false;
      }
    },
  };
  (raw as unknown as NodeJS.EventEmitter).on?.('error', () => {
    open = false;
  });
  return logDestination({ isTTY: !pm2File && process.stdout.isTTY === true, format: env.LOG_FORMAT, out });
}
