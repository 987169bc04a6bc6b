import fs from 'node:fs';
import path from 'node:path';
import { PROJECT_ROOT } from '../profiles/paths.ts';
import { PAGE_HEADERS } from './html-page.ts';
import { allow, strictRouter, type RouteAccess } from './route-access.ts';
import type { Router } from './cjs-imports.ts';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.svg': 'image/svg+xml',
};

/** Styles and helpers every page loads (`landing.js`: the buttons of the pages written for errors). */
export const SHARED_UI_ASSETS = {
  '/assets/base.css': 'shared/ui/base.css',
  '/assets/client.js': 'shared/ui/client.js',
  '/assets/landing.js': 'shared/ui/landing.js',
  '/assets/safe-next.js': 'shared/ui/safe-next.js',
};

/** The pages need no build step: a fixed map of URL → file under the project, read once, served from
 *  memory, each URL a route that declares who may load it. Only the listed files exist, so no request can
 *  reach another path. */
export function staticAssets(files: Record<string, { file: string; access: RouteAccess }>): Router {
  const router = strictRouter();
  for (const [url, { file, access }] of Object.entries(files)) {
    const full = path.join(PROJECT_ROOT, file);
    const body = fs.readFileSync(full);
    const type = TYPES[path.extname(full)] ?? 'application/octet-stream';
    router.get(url, allow(access), (ctx) => {
      ctx.type = type;
      ctx.set(PAGE_HEADERS);
      ctx.set('cache-control', 'no-cache');
      ctx.body = body;
    });
  }
  return router;
}

/** The same access for every file of a list. */
export function assetsFor(files: Record<string, string>, access: RouteAccess): Record<string, { file: string; access: RouteAccess }> {
  return Object.fromEntries(Object.entries(files).map(([url, file]) => [url, { file, access }]));
}
