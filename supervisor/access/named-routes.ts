import { onDemand } from '../../shared/runtime/cjs-imports.ts';
import { NAMED_PROFILE_ROUTES, type NamedProfileRoute, type NamedProfileRouteName } from '../../shared/access/profile-routes.ts';
import { strictRouter } from '../../shared/http/route-access.ts';

const parseurl = onDemand.parseurl();

export interface NamedRouteMatch {
  name: NamedProfileRouteName;
  route: NamedProfileRoute;
  params: Record<string, string>;
}

// The worker's own router type, with the worker's own options, over the same table: a path matches here
// exactly when it matches in the worker, and its parameters decode the same way.
const router = strictRouter();
for (const [name, route] of Object.entries(NAMED_PROFILE_ROUTES)) router.register(route.path, [route.method], () => {}, { name });

/** Which of the worker routes that name a profile a request to a worker is (`url`: what the worker gets),
 *  read as the worker's Koa app reads it (`parseurl`, then the router); null for every other route. */
export function namedRouteOf(method: string | undefined, url: string): NamedRouteMatch | null {
  const path = parseurl({ url } as Parameters<typeof parseurl>[0])?.pathname ?? '';
  if (!path.startsWith('/api/profile/')) return null;
  const layer = router.match(path, method ?? 'GET').pathAndMethod.find((l) => l.methods.length > 0);
  if (!layer) return null;
  const name = layer.name as NamedProfileRouteName;
  return { name, route: NAMED_PROFILE_ROUTES[name], params: layer.params(path, layer.captures(path)) };
}
