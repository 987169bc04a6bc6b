import fs from 'node:fs/promises';
import path from 'node:path';
import type { Router } from '../../../shared/runtime/cjs-imports.ts';
import { allow, strictRouter } from '../../../shared/http/route-access.ts';
import { getRawBody } from '../../../shared/runtime/cjs-imports.ts';
import { z } from 'zod';
import { ApiError } from '../../../shared/http/api-error.ts';
import { ensureDir } from '../../../shared/files/json-file.ts';
import { readJson } from '../../../shared/http/json-body.ts';
import { requireProfile, type WorkerDeps } from '../../profile/deps.ts';
import { keepCsv, loginToMis, reloadCsv } from '../../work/remembered-work.ts';

// The CSV parser is loaded with the first CSV, not at start-up.
const csv = () => import('../../mis/csv-report.ts');

export const CSV_UPLOAD_LIMIT = 20 * 1024 * 1024;
// Not text/plain: an HTML form on another site can send that without a preflight (see shared/http/origin-guard.ts).
const CSV_TYPES = ['text/csv', 'application/csv', 'application/vnd.ms-excel', 'application/octet-stream'];

const LoadSheetBody = z
  .object({ spreadsheet_id: z.string().max(2048).optional(), url: z.string().max(2048).optional() })
  .refine((b) => b.spreadsheet_id || b.url, { error: 'give "spreadsheet_id" or "url"' });

/** The MIS CSV (pulled through Chrome or uploaded) and the spreadsheet it is compared with. */
export function misRoutes(deps: WorkerDeps): Router {
  const router = strictRouter();
  const OWN = allow({ action: 'use', handle: 'own' });

  router.post('/api/mis/pull-csv', OWN, async (ctx) => {
    const profile = await requireProfile(deps);
    const report = await profile.automation.run(
      'pull-csv',
      async (work) => {
        const { page } = await loginToMis(deps, profile, work);
        const file = await profile.mis.exportCsv(page, deps.store.profilePaths(profile.handle).downloads, work);
        work.stage('reading the CSV');
        return (await csv()).parseCsvReport(await fs.readFile(file, 'utf8'), path.basename(file), 'mis');
      },
      { done: (r) => `Loaded ${r.file} (${r.rows.length} rows).` },
    );
    ctx.body = { success: true, ...(await keepCsv(deps, profile, report)) };
  });

  router.post('/api/mis/upload-csv', OWN, async (ctx) => {
    const profile = await requireProfile(deps);
    if (!CSV_TYPES.includes(ctx.request.type)) {
      throw new ApiError(415, 'unsupported_media_type', 'send the CSV as the request body with "Content-Type: text/csv"');
    }
    let bytes: Buffer;
    try {
      bytes = await getRawBody(ctx.req, { limit: CSV_UPLOAD_LIMIT, length: ctx.request.length });
    } catch (error) {
      if ((error as { type?: string }).type === 'entity.too.large') {
        throw new ApiError(413, 'payload_too_large', `the CSV is larger than ${CSV_UPLOAD_LIMIT / 1024 / 1024} MiB`);
      }
      throw new ApiError(400, 'bad_request', 'the upload could not be read');
    }
    const dir = deps.store.profilePaths(profile.handle).downloads;
    const { parseCsvReport, timestamp } = await csv();
    const name = `MIS_CSV_UPLOAD_${timestamp()}.csv`;
    const report = parseCsvReport(bytes.toString('utf8'), name, 'upload');
    await ensureDir(dir, true);
    await fs.writeFile(path.join(dir, name), bytes, { mode: 0o600 }); // kept byte for byte, BOM included
    ctx.status = 201;
    ctx.body = { success: true, ...(await keepCsv(deps, profile, report)) };
  });

  router.get('/api/mis/csv', OWN, async (ctx) => {
    const profile = await requireProfile(deps);
    const report = profile.csv.current ?? (await reloadCsv(deps, profile).catch(() => null));
    if (!report) throw new ApiError(404, 'not_found', `no MIS CSV loaded yet: pull one (POST ${deps.apiBase}/mis/pull-csv) or upload one (POST ${deps.apiBase}/mis/upload-csv)`);
    const rows = Number(ctx.query.rows ?? 5); // ?rows=0: the summary alone
    const limit = Math.min(Math.max(Number.isFinite(rows) ? Math.trunc(rows) : 5, 0), 100);
    ctx.body = { success: true, ...(await csv()).summarise(report, limit) };
  });

  router.post('/api/mis/load-sheet', OWN, async (ctx) => {
    const profile = await requireProfile(deps);
    const body = await readJson(ctx, LoadSheetBody);
    const loaded = await profile.work.track('load-sheet', (work) => profile.sheets.load((body.spreadsheet_id ?? body.url)!, work), {
      done: (r) => `Loaded "${r.title}": ${r.tabs.length} tabs.`,
    });
    ctx.body = { success: true, ...loaded };
  });

  return router;
}
