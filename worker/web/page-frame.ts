import type { Context } from 'koa';
import type { Handle } from '../../shared/profiles/handle.ts';
import type { PageFrame } from '../../shared/http/html-page.ts';
import { profilePrefix } from '../../shared/profiles/profile-url.ts';

/** Where a page of this worker finds its styles and its way back: under the supervisor's `/p/<handle>/`
 *  (the prefix the supervisor says, when it is this profile's), or at the root (the worker's own port, or
 *  the unprefixed `/api/…`, where the root is the dashboard). */
export function workerPageFrame(handle: Handle | null): (ctx: Context) => PageFrame {
  const own = handle ? profilePrefix(handle) : null;
  return (ctx) => {
    const prefix = own !== null && ctx.get('x-forwarded-prefix') === own ? own : '';
    return {
      assets: `${prefix}/assets/`,
      home: prefix || !handle ? { href: `${prefix}/`, label: handle ? `Back to the page of ${handle}` : 'Back to the start page' } : { href: '/', label: 'Home' },
      ...(handle ? { subtitle: handle } : {}),
    };
  };
}
