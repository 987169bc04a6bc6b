import type { IncomingHttpHeaders } from 'node:http';
import { sameSecret } from './same-secret.ts';
import { INHERITED_SETTINGS_VAR } from './settings.ts';

/** The variable that hands a worker its supervisor's secret, and the header that carries it: a request with
 *  it came through the supervisor, which has already decided who may make it, and set `x-tat-user` and
 *  `x-tat-grants` itself. */
export const INTERNAL_SECRET_VAR = 'TAT_INTERNAL_SECRET';
export const INTERNAL_SECRET_HEADER = 'x-tat-internal';

/** Who the supervisor says is asking, when the request carries its secret; `null` otherwise. */
export function supervisorSays(headers: IncomingHttpHeaders, secret: string | undefined): { user: string; grants: string[] | 'all' } | null {
  const given = headers[INTERNAL_SECRET_HEADER];
  if (!secret || typeof given !== 'string' || !sameSecret(given, secret)) return null;
  const grants = String(headers['x-tat-grants'] ?? '');
  return { user: String(headers['x-tat-user'] ?? 'unknown'), grants: grants === '*' ? 'all' : grants.split(',').filter(Boolean) };
}

/** Variables that hold secrets a worker is handed: the supervisor's secret, the settings it inherits
 *  (SUPERVISOR_TOKEN, a Redis URL with its password), and the same settings given directly. */
const SECRET_VARS = [INTERNAL_SECRET_VAR, INHERITED_SETTINGS_VAR, 'SUPERVISOR_TOKEN', 'METRICS_TOKEN', 'REDIS_URL'];

/** Reads the supervisor's secret and removes every secret from this process's environment (after the
 *  settings were read from it), so that no child process inherits one. */
export function takeSecretsFromEnvironment(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const secret = env[INTERNAL_SECRET_VAR];
  for (const name of SECRET_VARS) delete env[name];
  return secret;
}
