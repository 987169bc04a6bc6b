import { z } from 'zod';
import type { RouteAccess } from '../http/route-access.ts';

/** `{"handle": …}`: validated as a handle by the access declaration, which reads it. */
export const HandleBody = z.object({ handle: z.unknown().optional() });

export interface NamedProfileRoute {
  method: 'GET' | 'POST';
  path: string;
  access: RouteAccess;
}

/** The worker routes that act on a profile other than the worker's own, named in their path or body. The
 *  worker defines them from this table, and the supervisor decides on them from the same table, with the
 *  same matching and the same body parser, before forwarding: one reading of the request in both
 *  processes (docs/architecture.md, "Who may do what"). */
export const NAMED_PROFILE_ROUTES = {
  register: { method: 'POST', path: '/api/profile/register', access: { action: 'register', handle: { body: 'handle' }, body: HandleBody } },
  switch: { method: 'POST', path: '/api/profile/switch', access: { action: 'switch', handle: { body: 'handle' }, body: HandleBody } },
  delete: { method: 'POST', path: '/api/profile/delete', access: { action: 'delete', handle: { body: 'handle' }, body: HandleBody } },
  checkCredentials: { method: 'GET', path: '/api/profile/check-credentials/:handle', access: { action: 'register', handle: { param: 'handle' } } },
} as const satisfies Record<string, NamedProfileRoute>;

export type NamedProfileRouteName = keyof typeof NAMED_PROFILE_ROUTES;
