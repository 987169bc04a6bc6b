import type { Router } from '../../../shared/runtime/cjs-imports.ts';
import { allow, strictRouter } from '../../../shared/http/route-access.ts';
import { ApiError } from '../../../shared/http/api-error.ts';
import { requireProfile, type WorkerDeps } from '../../profile/deps.ts';

export function sheetsRoutes(deps: WorkerDeps): Router {
  const router = strictRouter();
  const OWN = allow({ action: 'use', handle: 'own' });

  // The spreadsheet loaded last: its id, title and tabs (what POST /api/mis/load-sheet answered).
  router.get('/api/sheets', OWN, async (ctx) => {
    const profile = await requireProfile(deps);
    const loaded = await profile.sheets.loaded();
    if (!loaded) throw new ApiError(404, 'not_found', `no spreadsheet loaded yet: POST ${deps.apiBase}/mis/load-sheet {"spreadsheet_id": "…"}`);
    ctx.body = { success: true, ...loaded };
  });

  router.get('/api/sheets/values', OWN, async (ctx) => {
    const profile = await requireProfile(deps);
    const { tab, range, spreadsheet_id: id } = ctx.query;
    if (typeof tab !== 'string' || tab === '' || tab.length > 200) throw new ApiError(400, 'invalid_body', 'give the tab name: ?tab=<name>&range=A1:D10');
    if (range !== undefined && (typeof range !== 'string' || !/^[A-Za-z]{0,3}\d{0,7}(:[A-Za-z]{0,3}\d{0,7})?$/.test(range))) {
      throw new ApiError(400, 'invalid_body', 'range must be in A1 notation, such as A1:D10');
    }
    ctx.body = { success: true, ...(await profile.sheets.values(tab, range || undefined, typeof id === 'string' ? id : undefined)) };
  });

  return router;
}
