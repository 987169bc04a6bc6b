// What the restore after a worker's start brought back, as /healthz, the pages and the supervisor see it. Its
// own file: the events and the routes read it without depending on the restore itself.

export type RestorePieceName = 'csv' | 'spreadsheet' | 'browser';

export interface RestorePiece {
  state: 'restoring' | 'restored' | 'failed';
  /** What came back (`12 rows from MIS_CSV_REPORT_….csv`). */
  detail?: string;
  /** Why it could not come back, and what to do about it. */
  reason?: string;
  fix?: string;
}

export interface RestoreStatus {
  state: 'restoring' | 'done';
  started_at: string;
  finished_at: string | null;
  pieces: Partial<Record<RestorePieceName, RestorePiece>>;
}

/** What the restore after this worker's start brought back: `status` is `null` when there was nothing to
 *  bring back (or it has not begun). Read by /healthz. */
export class RestoreState {
  status: RestoreStatus | null = null;
}
