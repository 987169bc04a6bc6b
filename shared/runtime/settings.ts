import { createHash } from 'node:crypto';
import { isIP } from 'node:net';
import { z } from 'zod';
import { readJsonFile, type JsonRead } from '../files/json-file.ts';
import { configPaths } from '../profiles/paths.ts';
import { HandleSchema } from '../profiles/handle.ts';

const port = z.number().int().min(0).max(65535);
const positive = z.number().int().positive();
const url = z.url({ protocol: /^https?$/ });

export const SettingsSchema = z.object({
  PORT: port.default(5000),
  HOST: z.string().min(1).default('127.0.0.1'),
  WORKER_BASE_PORT: port.optional(),
  PUBLIC_URL: url.optional(),
  PROFILES: z.array(HandleSchema).optional(),
  SESSION_BACKEND: z.enum(['file', 'redis', 'memory']).default('file'),
  REDIS_URL: z.string().optional(),
  REDIS_PREFIX: z.string().default('tat_mis:'),
  REDIS_TTL: positive.default(86400),
  CHROME_PATH: z.string().optional(),
  HEADLESS: z.boolean().default(true),
  MIS_URL: url.default('https://mis.theartisttree.com/daily-discount'),
  BLAZE_API_URL: url.default('https://api.blaze.me'),
  GOOGLE_API_ROOT: url.optional(),
  START_TIMEOUT_MS: positive.default(20000),
  STOP_TIMEOUT_MS: positive.default(10000),
  /** A worker that no supervisor takes back for this long stops by itself (README, "Running it for real"). */
  ORPHAN_TIMEOUT_MS: z.number().int().min(1000).max(60000).default(30000),
  PROXY_TIMEOUT_MS: positive.default(300000),
  IDLE_TIMEOUT_MS: z.number().int().min(0).default(0),
  MAX_RESTARTS: positive.default(5),
  RESTART_WINDOW_MS: positive.default(60000),
  SUPERVISOR_TOKEN: z.string().min(1).optional(),
  METRICS_TOKEN: z.string().min(16, { error: 'must be at least 16 characters' }).optional(),
  AUTH: z.enum(['none', 'local', 'proxy']).optional(),
  ALLOWED_HOSTS: z.array(z.string().min(1).max(253)).default([]),
  AUTH_PROXY_HEADER: z.string().regex(/^[A-Za-z0-9-]{1,64}$/, { error: 'must be a header name' }).default('X-Forwarded-User'),
  TRUSTED_PROXIES: z.array(z.string().refine(isAddressOrRange, { error: 'must be IP addresses or CIDR ranges (127.0.0.1, 10.0.0.0/8, ::1)' })).default(['127.0.0.0/8', '::1']),
  AUTH_SESSION_TTL_MS: positive.default(86_400_000),
  AUTH_LOCKOUT_MS: positive.default(900_000),
  BODY_TIMEOUT_MS: positive.default(30_000),
  MAX_CONNECTIONS_PER_CLIENT: positive.default(128),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
});

type Parsed = z.infer<typeof SettingsSchema>;
export type Settings = Omit<Parsed, 'WORKER_BASE_PORT' | 'PUBLIC_URL' | 'AUTH'> & {
  WORKER_BASE_PORT: number;
  PUBLIC_URL: string;
  /** Resolved: `none` only while the supervisor is reachable from this machine alone. */
  AUTH: 'none' | 'local' | 'proxy';
  /** Where the settings came from, for messages. */
  configDir: string;
};
export const SETTING_KEYS = Object.keys(SettingsSchema.shape) as (keyof Parsed)[];

export class SettingsError extends Error {}

export interface LoadedSettings {
  settings: Settings;
  /** Problems worth a warning that do not stop start-up (unknown keys). */
  warnings: string[];
}

/** Under a supervisor a worker takes the settings the supervisor validated at its start, passed in this
 *  variable, instead of reading settings.json again: every process of one supervisor runs with the same
 *  settings, and a file edited (or half-written) while it runs cannot stop a worker from restarting. */
export const INHERITED_SETTINGS_VAR = 'TAT_SUPERVISOR_SETTINGS';

/** The value of `INHERITED_SETTINGS_VAR` for the supervisor's workers. */
export function settingsForWorkers(settings: Settings): string {
  const values = settings as unknown as Record<string, unknown>;
  // METRICS_TOKEN opens only the supervisor's /metrics: a worker has no use for it.
  return JSON.stringify(Object.fromEntries(SETTING_KEYS.filter((k) => values[k] !== undefined && k !== 'METRICS_TOKEN').map((k) => [k, values[k]])));
}

/** The fingerprint of the settings workers run with: a worker adopted with another one is an older version. */
export function settingsFingerprint(forWorkers: string): string {
  return createHash('sha256').update(forWorkers).digest('base64url').slice(0, 16);
}

/** `settings.json` in the config dir (or the supervisor's, see `INHERITED_SETTINGS_VAR`), overridden by
 *  environment variables of the same name. */
export async function loadSettings(configDir: string, env: NodeJS.ProcessEnv = process.env): Promise<LoadedSettings> {
  const inherited = env[INHERITED_SETTINGS_VAR];
  const file = inherited ? `the settings inherited from the supervisor (${INHERITED_SETTINGS_VAR})` : configPaths(configDir).settings;
  const read = inherited ? parseInherited(inherited) : await readJsonFile<Record<string, unknown>>(file);
  if (read.status === 'corrupt') throw new SettingsError(`settings file ${file} is ${read.reason}`);
  const fromFile = read.status === 'ok' ? read.value : {};
  if (typeof fromFile !== 'object' || fromFile === null || Array.isArray(fromFile)) {
    throw new SettingsError(`settings file ${file} must hold a JSON object`);
  }
  const warnings = Object.keys(fromFile)
    .filter((key) => !(SETTING_KEYS as string[]).includes(key))
    .map((key) => `unknown setting "${key}" in ${file} is ignored`);

  const raw: Record<string, unknown> = {};
  const source: Record<string, string> = {};
  for (const key of SETTING_KEYS) {
    if (env[key] !== undefined && env[key] !== '') {
      raw[key] = fromEnvironment(key, env[key]);
      source[key] = `environment variable ${key}`;
    } else if (key in fromFile) {
      raw[key] = fromFile[key];
      source[key] = `"${key}" in ${file}`;
    }
  }
  const parsed = SettingsSchema.safeParse(raw);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((issue) => {
      const key = String(issue.path[0] ?? '');
      return `${source[key] ?? key}: ${issue.message}`;
    });
    throw new SettingsError(`invalid settings: ${lines.join('; ')}`);
  }
  const s = parsed.data;
  const publicUrl = (s.PUBLIC_URL ?? `http://localhost:${s.PORT}`).replace(/\/+$/, '');
  return {
    settings: {
      ...s,
      WORKER_BASE_PORT: s.WORKER_BASE_PORT ?? s.PORT + 1,
      PUBLIC_URL: publicUrl,
      AUTH: resolveAuth(s.AUTH, s.HOST, publicUrl, source.AUTH),
      configDir,
    },
    warnings,
  };
}

/** `AUTH`: `none` (no sign-in) is the default, and allowed, only while the supervisor listens on loopback and
 *  people reach it as localhost; anything else needs sign-in (README, "Letting colleagues in"). */
function resolveAuth(asked: Parsed['AUTH'], host: string, publicUrl: string, source: string | undefined): Settings['AUTH'] {
  const local = isLoopbackHost(host) && isLoopbackHost(new URL(publicUrl).hostname);
  if (asked === undefined) return local ? 'none' : 'local';
  if (asked === 'none' && !local) {
    throw new SettingsError(
      `${source ?? 'AUTH'}: AUTH=none is refused while HOST is ${host} and PUBLIC_URL is ${publicUrl}: other machines could use every profile without signing in. Set AUTH=local (accounts: npm run user -- add …) or AUTH=proxy (behind a signing-in proxy)`,
    );
  }
  return asked;
}

function isAddressOrRange(entry: string): boolean {
  const [base, bits, extra] = entry.split('/');
  const family = isIP(base ?? '');
  if (!family || extra !== undefined) return false;
  return bits === undefined || (/^\d+$/.test(bits) && Number(bits) <= (family === 4 ? 32 : 128));
}

/** 127.0.0.0/8, ::1, localhost. */
export function isLoopbackHost(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  return h === 'localhost' || h === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h);
}

function parseInherited(text: string): JsonRead<Record<string, unknown>> {
  try {
    return { status: 'ok', value: JSON.parse(text) as Record<string, unknown> };
  } catch {
    return { status: 'corrupt', reason: 'not valid JSON' };
  }
}

const NUMBER_KEYS = new Set(['PORT', 'WORKER_BASE_PORT', 'REDIS_TTL', 'START_TIMEOUT_MS', 'STOP_TIMEOUT_MS', 'ORPHAN_TIMEOUT_MS', 'PROXY_TIMEOUT_MS', 'IDLE_TIMEOUT_MS', 'MAX_RESTARTS', 'RESTART_WINDOW_MS', 'AUTH_SESSION_TTL_MS', 'AUTH_LOCKOUT_MS', 'BODY_TIMEOUT_MS', 'MAX_CONNECTIONS_PER_CLIENT']);
const LIST_KEYS = new Set(['PROFILES', 'ALLOWED_HOSTS', 'TRUSTED_PROXIES']);

/** Environment variables are strings: give them the file's types (numbers, booleans, comma lists). A value
 *  that does not convert is passed on as it is, so validation names the variable. */
function fromEnvironment(key: string, value: string): unknown {
  const v = value.trim();
  if (NUMBER_KEYS.has(key)) return /^-?\d+(\.\d+)?$/.test(v) ? Number(v) : value;
  if (key === 'HEADLESS') {
    if (['1', 'true', 'yes', 'on'].includes(v.toLowerCase())) return true;
    if (['0', 'false', 'no', 'off'].includes(v.toLowerCase())) return false;
    return value;
  }
  if (LIST_KEYS.has(key)) return v.split(',').map((s) => s.trim()).filter(Boolean);
  return value;
}

/** Start-up of either process: the settings, or the reason on stderr and exit code 78 (EX_CONFIG). */
export async function loadSettingsOrExit(configDir: string, who: string, beforeExit?: (message: string) => void, env: NodeJS.ProcessEnv = process.env): Promise<LoadedSettings> {
  try {
    return await loadSettings(configDir, env);
  } catch (error) {
    if (!(error instanceof SettingsError)) throw error;
    process.stderr.write(`${who} cannot start: ${error.message}\n`);
    beforeExit?.(error.message);
    process.exit(78);
  }
}
