import pino, { type DestinationStream } from 'pino';
import { createLogger, type Logger } from '../../shared/runtime/logger.ts';
import type { LogRing } from './log-ring.ts';

/** Re-emits one worker process's output as the supervisor's own log lines, tagged `{handle, pid}` and
 *  redacted again, so pm2 or journald see one stream; every relayed line is also kept in `ring` for the
 *  logs endpoint and its live stream (redacted before it gets there). Returns the function that takes each
 *  line. */
export function workerLogRelay(options: { handle: string | null; pid: number; ring: LogRing; destination: DestinationStream }): (line: string, stream: 'stdout' | 'stderr') => void {
  const { ring, destination } = options;
  const relay: Logger = createLogger({
    level: 'trace',
    base: { pid: options.pid, handle: options.handle },
    destination: {
      write(line: string) {
        ring.push(line.trimEnd());
        destination.write(line);
      },
    },
  });
  return (line, stream) => {
    if (!line.trim()) return;
    const parsed = parseJsonLine(line);
    if (!parsed) {
      relay[stream === 'stderr' ? 'warn' : 'info']({ stream }, line);
      return;
    }
    // `profile` repeats the `handle` the relay adds; `pid` and `time` are the relay's own.
    const { level, time: _time, pid: _pid, profile: _profile, msg, ...rest } = parsed;
    const label = pino.levels.labels[Number(level)] ?? 'info';
    relay[label as pino.Level](rest, typeof msg === 'string' ? msg : '');
  };
}

function parseJsonLine(line: string): Record<string, unknown> | null {
  if (!line.startsWith('{')) return null;
  try {
    const value: unknown = JSON.parse(line);
    return value && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}
