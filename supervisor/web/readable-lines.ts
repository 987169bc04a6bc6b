import pino from 'pino';

export interface ReadableLine {
  /** `HH:MM:SS` (UTC), '' when the line has no time; `at`: the same instant in full, for a page to show it
   *  in the reader's own time zone. */
  time: string;
  at: string | null;
  level: string;
  text: string;
  /** The same line this many times in a row. */
  count: number;
}

/** Fields every relayed line carries, which say nothing to a person reading one worker's lines. */
const QUIET = new Set(['level', 'time', 'pid', 'handle', 'profile', 'name', 'hostname', 'msg', 'stream']);

/** Log lines as a person reads them: time, level, message and the other fields as `key=value`, the same
 *  line repeated shown once with its count. Lines that are not JSON are shown as they are. */
export function readableLines(raw: readonly string[]): ReadableLine[] {
  const out: ReadableLine[] = [];
  for (const line of raw) {
    const next = readable(line);
    const last = out.at(-1);
    if (last && last.level === next.level && last.text === next.text) last.count += 1;
    else out.push(next);
  }
  return out;
}

function readable(line: string): ReadableLine {
  let parsed: Record<string, unknown>;
  try {
    parsed = JSON.parse(line) as Record<string, unknown>;
    if (!parsed || typeof parsed !== 'object') throw new Error('not an object');
  } catch {
    return { time: '', at: null, level: 'info', text: line, count: 1 };
  }
  const level = pino.levels.labels[Number(parsed.level)] ?? 'info';
  const when = typeof parsed.time === 'string' || typeof parsed.time === 'number' ? new Date(parsed.time) : null;
  const at = when && !Number.isNaN(when.getTime()) ? when.toISOString() : null;
  const time = at ? at.slice(11, 19) : '';
  const fields = Object.entries(parsed)
    .filter(([k]) => !QUIET.has(k))
    .map(([k, v]) => `${k}=${k === 'err' && v && typeof v === 'object' ? String((v as { message?: unknown }).message ?? '') : typeof v === 'string' ? v : JSON.stringify(v)}`);
  const msg = typeof parsed.msg === 'string' ? parsed.msg : '';
  return { time, at, level, text: [msg, ...fields].filter(Boolean).join(' '), count: 1 };
}
