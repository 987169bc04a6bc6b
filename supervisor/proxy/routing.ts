import { isCanonicalHandle, type Handle } from '../../shared/profiles/handle.ts';
import { PROFILE_ROUTES, profilePrefix } from '../../shared/profiles/profile-url.ts';

export type Route =
  | { kind: 'profile'; handle: Handle; path: string; prefix: string }
  | { kind: 'profile-root'; handle: Handle; query: string }
  | { kind: 'unknown-profile'; segment: string }
  | { kind: 'api'; path: string }
  | { kind: 'app' };

/** Where a request goes, from its raw URL (no decoding: a handle must appear exactly as it is). */
export function routeOf(url: string): Route {
  if (url.startsWith(PROFILE_ROUTES)) {
    const start = PROFILE_ROUTES.length;
    const end = url.slice(start).search(/[/?]/);
    const segment = end === -1 ? url.slice(start) : url.slice(start, start + end);
    if (!isCanonicalHandle(segment)) return { kind: 'unknown-profile', segment };
    const rest = end === -1 ? '' : url.slice(start + end);
    if (!rest.startsWith('/')) return { kind: 'profile-root', handle: segment, query: rest };
    return { kind: 'profile', handle: segment, path: rest, prefix: profilePrefix(segment) };
  }
  if (url === '/api' || url.startsWith('/api/') || url.startsWith('/api?')) return { kind: 'api', path: url };
  return { kind: 'app' };
}
