import fs from 'node:fs';
import path from 'node:path';
import { PROJECT_ROOT } from '../profiles/paths.ts';
import { PAGE_HEADERS } from './html-page.ts';
import { pageShell, type PageHead } from './page-shell.ts';
import { allow, strictRouter, type RouteAccess } from './route-access.ts';
import type { Router } from '../runtime/cjs-imports.ts';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.svg': 'image/svg+xml',
};

/** The pages' shared modules and styles (`landing.js`: the buttons of the pages written for errors):
 *  code, not data, open to anyone who may load a page. */
export const SHARED_UI_ASSETS = Object.fromEntries(
  ['base.css', 'client.js', 'format.js', 'event-stream.js', 'register-form.js', 'profile-actions.js', 'landing.js', 'safe-next.js'].map((name) => [`/assets/${name}`, `shared/ui/${name}`]),
);

/** A file to serve; a page's body is served inside the one page shell (`page-shell.ts`). */
export interface Asset {
  file: string;
  access: RouteAccess;
  page?: Omit<PageHead, 'assets'>;
}

/** The pages need no build step: a fixed map of URL → file under the project, read once, served from
 *  memory, each URL a route that declares who may load it. Only the listed files exist, so no request can
 *  reach another path. `assets`: where the pages find their assets (`/assets/`, or `assets/` under a
 *  profile's `/p/<h>/`). */
export function staticAssets(files: Record<string, Asset>, options: { assets: string }): Router {
  const router = strictRouter();
  for (const [url, { file, access, page }] of Object.entries(files)) {
    const full = path.join(PROJECT_ROOT, file);
    const text = fs.readFileSync(full);
    const body = page ? Buffer.from(pageShell({ ...page, assets: options.assets }, text.toString('utf8'))) : text;
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
export function assetsFor(files: Record<string, string>, access: RouteAccess): Record<string, Asset> {
  return Object.fromEntries(Object.entries(files).map(([url, file]) => [url, { file, access }]));
}
