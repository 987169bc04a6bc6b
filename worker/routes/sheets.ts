import type { Router } from '../../shared/cjs-imports.ts';
import { allow, strictRouter } from '../../shared/route-access.ts';
import { ApiError } from '../../shared/api-error.ts';
import { requireProfile, type WorkerDeps } from '../deps.ts';

export function sheetsRoutes(deps: WorkerDeps): Router {
  const router = strictRouter();
  const OWN = allow({ action: 'use', handle: 'own' });

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
