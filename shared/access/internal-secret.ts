import type { IncomingHttpHeaders } from 'node:http';
import { sameSecret } from './same-secret.ts';
import { INHERITED_SETTINGS_VAR } from '../runtime/settings.ts';

/** The header that carries the supervisor's secret (handed to each worker in its `start` message): a request
 *  with it came through the supervisor, which has already decided who may make it, and set `x-tat-user` and
 *  `x-tat-grants` itself. */
export const INTERNAL_SECRET_HEADER = 'x-tat-internal';

/** Who the supervisor says is asking, when the request carries its secret; `null` otherwise. */
export function supervisorSays(headers: IncomingHttpHeaders, secret: string | undefined): { user: string; grants: string[] | 'all' } | null {
  const given = headers[INTERNAL_SECRET_HEADER];
  if (!secret || typeof given !== 'string' || !sameSecret(given, secret)) return null;
  const grants = String(headers['x-tat-grants'] ?? '');
  return { user: String(headers['x-tat-user'] ?? 'unknown'), grants: grants === '*' ? 'all' : grants.split(',').filter(Boolean) };
}

/** Variables that may hold secrets in a worker run alone (an operator's SUPERVISOR_TOKEN, a Redis URL with
 *  its password): out of the environment once the settings are read, so that no child process inherits
 *  them. Under a supervisor they never reach the environment (the `start` message of shared/runtime/ipc.ts). */
const SECRET_VARS = [INHERITED_SETTINGS_VAR, 'SUPERVISOR_TOKEN', 'METRICS_TOKEN', 'REDIS_URL'];

export function scrubSecretsFromEnvironment(env: NodeJS.ProcessEnv = process.env): void {
  for (const name of SECRET_VARS) delete env[name];
}
