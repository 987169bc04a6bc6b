import type { Handle } from './handle.ts';

/** Where profiles live under the supervisor's URL: `/p/<handle>/…` (README, "Everyday use"). The
 *  supervisor routes by it; a worker builds its public links (OAuth redirect, the register answer) from it. */
export const PROFILE_ROUTES = '/p/';

export function profilePrefix(handle: Handle): string {
  return `${PROFILE_ROUTES}${handle}`;
}
