import type { Logger, DestinationStream } from 'pino';
import { onDemand, pino } from './cjs-imports.ts';
import { sourceMappedStack } from './source-mapped-stack.ts';

export type { Logger };

/** Keys whose values never reach a log line: secrets never reach a response or a log line. */
export const SECRET_KEYS = [
  'mis_password',
  'blaze_password',
  'password',
  'client_secret',
  'token',
  'refresh_token',
  'access_token',
  'id_token',
  'authorization',
  'Authorization',
  'cookie',
  'Cookie',
  'set-cookie',
  'Set-Cookie',
] as const;

const redactPaths = SECRET_KEYS.flatMap((key) => {
  const k = /^[A-Za-z_]+$/.test(key) ? key : `["${key}"]`;
  const join = (prefix: string) => (k.startsWith('[') ? `${prefix}${k}` : `${prefix}.${k}`);
  return [k, join('*'), join('*.*'), join('*.*.*'), join('*.*.*.*'), join('*.*.*.*.*')];
});

export interface LoggerOptions {
  level?: string;
  name?: string;
  base?: Record<string, unknown>;
  destination?: DestinationStream;
}

/** Errors are logged under `err` with their type, code, message and stack (naming the .ts lines) only: other
 *  properties can carry secrets (a Google client error holds the request it made, token and client secret
 *  included). */
function serializeError(value: unknown): unknown {
  if (!(value instanceof Error)) return value;
  const code = (value as NodeJS.ErrnoException).code;
  return { type: value.name, message: value.message, ...(code === undefined ? {} : { code }), stack: value.stack && sourceMappedStack(value.stack) };
}

export function createLogger(options: LoggerOptions = {}): Logger {
  return pino(
    {
      level: options.level ?? 'info',
      name: options.name,
      base: { pid: process.pid, ...options.base },
      serializers: { err: serializeError },
      redact: { paths: redactPaths, censor: '[redacted]' },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    options.destination ?? pino.destination({ sync: true }),
  );
}

export type LogFormat = 'pretty' | 'json';

/** How the supervisor writes its log: `LOG_FORMAT` (`pretty` or `json`) when given, else pretty on a
 *  terminal and JSON lines everywhere else (pm2, journald, a pipe, the tests). */
export function logFormat(options: { isTTY: boolean; format?: string | undefined }): LogFormat {
  if (options.format === 'pretty' || options.format === 'json') return options.format;
  return options.isTTY ? 'pretty' : 'json';
}

/** Where the log lines go: `out` (default: stdout, written synchronously so that nothing is lost on exit),
 *  as they are for JSON, or each line turned into a coloured, readable one by pino-pretty — in this thread,
 *  synchronously too (no worker-thread transport). Worker lines show their handle. pino-pretty is loaded
 *  only for the pretty format. `colorize`: default, when the output supports colours. */
export function logDestination(options: { isTTY: boolean; format?: string | undefined; out?: DestinationStream; colorize?: boolean }): DestinationStream {
  const out = options.out ?? pino.destination({ sync: true });
  if (logFormat(options) === 'json') return out;
  const { prettyFactory } = onDemand.pinoPretty();
  const pretty = prettyFactory({
    ...(options.colorize === undefined ? {} : { colorize: options.colorize }),
    translateTime: 'SYS:HH:MM:ss.l',
    ignore: 'pid,hostname,name,handle',
    messageFormat: '{if handle}[{handle}] {end}{msg}',
  });
  return {
    write(line: string) {
      const text = pretty(line);
      if (text) out.write(text);
    },
  };
}
