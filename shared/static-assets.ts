import fs from 'node:fs';
import path from 'node:path';
import type { Middleware } from 'koa';
import { PROJECT_ROOT } from './paths.ts';
import { PAGE_HEADERS } from './html-page.ts';

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
};

/** The pages need no build step: a fixed map of URL → file under the project, read once, served from
 *  memory. Only the listed files exist, so no request can reach another path. */
export function staticAssets(files: Record<string, string>): Middleware {
  const assets = new Map(
    Object.entries(files).map(([url, file]) => {
      const full = path.join(PROJECT_ROOT, file);
      return [url, { body: fs.readFileSync(full), type: TYPES[path.extname(full)] ?? 'application/octet-stream' }] as const;
    }),
  );
  return async (ctx, next) => {
    const asset = ctx.method === 'GET' || ctx.method === 'HEAD' ? assets.get(ctx.path) : undefined;
    if (!asset) return next();
    ctx.type = asset.type;
    ctx.set(PAGE_HEADERS);
    ctx.set('cache-control', 'no-cache');
    ctx.body = asset.body;
  };
}
