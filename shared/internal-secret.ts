import type { IncomingHttpHeaders } from 'node:http';
import { sameSecret } from './same-secret.ts';

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
