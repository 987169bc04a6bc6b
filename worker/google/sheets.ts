import type { sheets_v4 } from '@googleapis/sheets';
import { ApiError } from '../../shared/http/api-error.ts';
import type { SessionNamespace } from '../session/session-manager.ts';
import type { GoogleAccount } from './google-account.ts';
import type { Work } from '../work/work-in-progress.ts';

export interface LoadedSpreadsheet {
  spreadsheet_id: string;
  title: string;
  tabs: { title: string; index: number; rows: number | null; columns: number | null }[];
  loaded_at: string;
}

const ID_PATTERN = /^[A-Za-z0-9_-]{10,200}$/;

/** A spreadsheet id, from the id itself or any Sheets URL (`…/spreadsheets/d/<id>/edit#gid=0`). */
export function spreadsheetIdFrom(input: string): string | null {
  const trimmed = input.trim();
  if (ID_PATTERN.test(trimmed)) return trimmed;
  const match = /\/spreadsheets\/d\/([A-Za-z0-9_-]+)/.exec(trimmed);
  return match?.[1] && ID_PATTERN.test(match[1]) ? match[1] : null;
}

/** The profile's Google Sheets connection (volatile: the client lives only in this process). */
export class SheetsConnection {
  readonly #account: GoogleAccount;
  readonly #remembered: SessionNamespace;
  readonly #rootUrl: string | undefined;
  readonly #apiBase: string;
  #api: sheets_v4.Sheets | null = null;

  constructor(account: GoogleAccount, remembered: SessionNamespace, rootUrl: string | undefined, apiBase: string) {
    this.#apiBase = apiBase;
    this.#account = account;
    this.#remembered = remembered;
    this.#rootUrl = rootUrl ? rootUrl.replace(/\/?$/, '/') : undefined;
  }

  get connected(): boolean {
    return this.#api !== null;
  }

  /** Forgets the client (after a new token, or when the token was revoked). */
  reset(): void {
    this.#api = null;
  }

  /** Reads the spreadsheet's title and tabs and remembers it; `work` says the stage and can cancel it. */
  async load(idOrUrl: string, work?: Work): Promise<LoadedSpreadsheet> {
    const id = spreadsheetIdFrom(idOrUrl);
    if (!id) throw new ApiError(400, 'invalid_body', 'give a spreadsheet id or a Google Sheets URL (https://docs.google.com/spreadsheets/d/<id>/…)');
    work?.stage(this.#api ? "reading the spreadsheet's tabs" : 'connecting to Google');
    const { data } = await this.#call((api) => {
      work?.stage("reading the spreadsheet's tabs");
      return api.spreadsheets.get({ spreadsheetId: id, fields: 'properties.title,sheets.properties' }, work ? { signal: work.signal } : {});
    });
    work?.throwIfCancelled();
    const loaded: LoadedSpreadsheet = {
      spreadsheet_id: id,
      title: data.properties?.title ?? '',
      tabs: (data.sheets ?? []).map((s, i) => ({
        title: s.properties?.title ?? `Sheet${i + 1}`,
        index: s.properties?.index ?? i,
        rows: s.properties?.gridProperties?.rowCount ?? null,
        columns: s.properties?.gridProperties?.columnCount ?? null,
      })),
      loaded_at: new Date().toISOString(),
    };
    await this.#remembered.set('spreadsheet', loaded);
    return loaded;
  }

  /** The spreadsheet loaded last (remembered across restarts), if any. */
  loaded(): Promise<LoadedSpreadsheet | undefined> {
    return this.#remembered.get<LoadedSpreadsheet>('spreadsheet');
  }

  async values(tab: string, range: string | undefined, spreadsheetId?: string): Promise<{ spreadsheet_id: string; range: string; values: unknown[][] }> {
    const id = spreadsheetId ? spreadsheetIdFrom(spreadsheetId) : (await this.loaded())?.spreadsheet_id;
    if (!id) throw new ApiError(409, 'invalid_state', `no spreadsheet loaded: POST ${this.#apiBase}/mis/load-sheet first, or pass spreadsheet_id`);
    const a1 = range ? `'${tab.replace(/'/g, "''")}'!${range}` : `'${tab.replace(/'/g, "''")}'`;
    const { data } = await this.#call((api) => api.spreadsheets.values.get({ spreadsheetId: id, range: a1 }));
    return { spreadsheet_id: id, range: data.range ?? a1, values: (data.values as unknown[][] | undefined) ?? [] };
  }

  async #call<T>(task: (api: sheets_v4.Sheets) => Promise<T>): Promise<T> {
    return this.#account.call(async (auth) => {
      if (!this.#api) {
        const { sheets } = await import('@googleapis/sheets'); // heavy: loaded on first use only
        this.#api = sheets({ version: 'v4', auth, ...(this.#rootUrl ? { rootUrl: this.#rootUrl } : {}) });
      }
      return task(this.#api);
    });
  }
}
