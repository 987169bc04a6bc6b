import { pino } from '../../shared/runtime/cjs-imports.ts';

/** A log line as a person reads it, on every page that shows one: the logs view, the dashboard's errored
 *  rows, the landing page of a worker that keeps crashing. */
export interface ReadableLine {
  /** The instant in full (ISO), for a page to show in the reader's own time zone; null when the line has
   *  none. `time`: `HH:MM:SS` (UTC), for a page written by the server. */
  at: string | null;
  time: string;
  level: string;
  msg: string;
  /** The other fields as `key=value` (nested ones as `a.b`); an error's message as `err`, its stack apart. */
  fields: [string, string][];
  stack: string | null;
  /** The message and the fields as one line of text. */
  text: string;
  pid: number | null;
  /** The same line this many times in a row. */
  count: number;
}

/** Fields every relayed line carries, which say nothing to a person reading one worker's lines. */
const QUIET = new Set(['level', 'time', 'pid', 'handle', 'profile', 'name', 'hostname', 'msg', 'stream']);
const LEVELS = pino.levels.labels;

/** Log lines made readable, the same line repeated shown once with its count. */
export function readableLines(raw: readonly string[]): ReadableLine[] {
  const out: ReadableLine[] = [];
  for (const line of raw) {
    const next = readableLine(line);
    const last = out.at(-1);
    if (last && last.level === next.level && last.text === next.text) {
      last.count += 1;
      last.at = next.at;
      last.time = next.time;
    } else out.push(next);
  }
  return out;
}

/** One relayed log line (pino JSON, already redacted) made readable; a line that is not JSON as it is. */
export function readableLine(line: string): ReadableLine {
  let record: Record<string, unknown>;
  try {
    record = JSON.parse(line) as Record<string, unknown>;
    if (!record || typeof record !== 'object' || Array.isArray(record)) throw new Error('not an object');
  } catch {
    return { at: null, time: '', level: 'info', msg: line, fields: [], stack: null, text: line, pid: null, count: 1 };
  }
  const level = LEVELS[Number(record.level)] ?? (typeof record.level === 'string' && record.level in pino.levels.values ? record.level : 'info');
  const when = typeof record.time === 'string' || typeof record.time === 'number' ? new Date(record.time) : null;
  const at = when && !Number.isNaN(when.getTime()) ? when.toISOString() : null;
  const msg = typeof record.msg === 'string' ? record.msg : record.msg === undefined ? '' : shown(record.msg);
  const fields: [string, string][] = [];
  let stack: string | null = null;
  const walk = (key: string, value: unknown, depth: number) => {
    if (value && typeof value === 'object' && !Array.isArray(value) && depth < 3) {
      for (const [k, v] of Object.entries(value)) {
        if (k === 'stack' && typeof v === 'string') stack = v;
        else walk(`${key}.${k}`, v, depth + 1);
      }
    } else fields.push([key, shown(value)]);
  };
  for (const [key, value] of Object.entries(record)) {
    if (QUIET.has(key)) continue;
    // An error reads as its message; its stack is shown apart.
    if (key === 'err' && value && typeof value === 'object') {
      const err = value as { message?: unknown; stack?: unknown };
      fields.push(['err', shown(err.message ?? '')]);
      if (typeof err.stack === 'string') stack = err.stack;
    } else walk(key, value, 0);
  }
  const text = [msg, ...fields.map(([k, v]) => `${k}=${v}`)].filter(Boolean).join(' ');
  return { at, time: at ? at.slice(11, 19) : '', level, msg, fields, stack, text, pid: typeof record.pid === 'number' ? record.pid : null, count: 1 };
}

/** A value as a person reads it: strings bare (quoted when they hold spaces, quotes or `=`), the rest compact. */
function shown(value: unknown): string {
  if (typeof value === 'string') return value === '' || /[\s"=]/.test(value) ? JSON.stringify(value) : value;
  if (Array.isArray(value)) return `[${value.map(shown).join(', ')}]`;
  if (value && typeof value === 'object') return `{${Object.entries(value).map(([k, v]) => `${k}=${shown(v)}`).join(' ')}}`;
  return String(value);
}
