import pino, { type Logger, type DestinationStream } from 'pino';

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

/** Errors are logged under `err` with their type, code, message and stack only: other properties can carry
 *  secrets (a Google client error holds the request it made, token and client secret included). */
function serializeError(value: unknown): unknown {
  if (!(value instanceof Error)) return value;
  const code = (value as NodeJS.ErrnoException).code;
  return { type: value.name, message: value.message, ...(code === undefined ? {} : { code }), stack: value.stack };
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
