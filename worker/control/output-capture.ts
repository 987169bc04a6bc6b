import { pino } from '../../shared/runtime/cjs-imports.ts';
import type { Level } from 'pino';
import type { Logger } from '../../shared/runtime/logger.ts';

/** Whatever else this process writes to its stdout and stderr — a library's console.log, a warning of
 *  Node's, a JSON line printed by hand — becomes a line of its logger: redacted like every line (a secret a
 *  library printed by mistake is caught here), kept for the logs view, and written to the operator's log
 *  once. The logger itself writes to the file descriptor directly, past this. Returns the function that
 *  gives the lines to `log` from then on (lines written before wait for it). */
export function captureOutput(): (log: Logger) => void {
  let target: Logger | null = null;
  const waiting: [string, 'stdout' | 'stderr'][] = [];
  const emit = (line: string, stream: 'stdout' | 'stderr') => {
    if (!target) return void waiting.push([line, stream]);
    const parsed = parseJsonLine(line);
    if (!parsed) return void target[stream === 'stderr' ? 'warn' : 'info']({ stream }, line);
    // `pid`, `time` and the handle are the logger's own.
    const { level, time: _time, pid: _pid, profile: _profile, handle: _handle, msg, ...rest } = parsed;
    const label = pino.levels.labels[Number(level)] ?? 'info';
    target[label as Level](rest, typeof msg === 'string' ? msg : '');
  };
  for (const stream of ['stdout', 'stderr'] as const) {
    let partial = '';
    const write = (chunk: string | Uint8Array, encoding?: BufferEncoding | ((error?: Error | null) => void), callback?: (error?: Error | null) => void): boolean => {
      partial += typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8');
      let newline: number;
      while ((newline = partial.indexOf('\n')) !== -1) {
        const line = partial.slice(0, newline);
        partial = partial.slice(newline + 1);
        if (line.trim()) emit(line, stream);
      }
      const done = typeof encoding === 'function' ? encoding : callback;
      if (done) queueMicrotask(() => done(null));
      return true;
    };
    process[stream].write = write as typeof process.stdout.write;
  }
  return (log) => {
    target = log;
    for (const [line, stream] of waiting.splice(0)) emit(line, stream);
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
