import { ApiError } from '../../shared/http/api-error.ts';
import type { LoadedSpreadsheet } from '../google/sheets.ts';
import type { WorkerMessage } from '../../shared/runtime/ipc.ts';
import type { WorkerEvents } from '../profile/events.ts';
import type { LazyProfile } from '../profile/lazy-profile.ts';
import type { ProfileServices } from '../profile/profile-services.ts';
import { loginToMis, rememberedBrowser, reloadCsv, type RememberedWorkDeps } from './remembered-work.ts';
import type { Work } from './work-in-progress.ts';
import type { RestorePiece, RestorePieceName, RestoreState, RestoreStatus } from './restore-state.ts';

/** What the restore needs of a worker: what remembering the work needs, the profile's services, and where it
 *  reports (its state, the pages' events, the supervisor). */
export interface RestoreDeps extends RememberedWorkDeps {
  profile: LazyProfile | null;
  restore: RestoreState;
  events: WorkerEvents;
  notify(message: WorkerMessage): void;
}

/** After a start, the worker brings the profile's work back by itself, from its session store: the loaded
 *  MIS CSV, the loaded spreadsheet with a working Sheets connection, and Chrome logged into the MIS if it was
 *  open. A piece that cannot come back is reported with the reason and the fix, and never stops the worker.
 *  Reported on /healthz, over IPC (the dashboard) and as `restore` events. */
export class Restore {
  readonly #deps: RestoreDeps;

  constructor(deps: RestoreDeps) {
    this.#deps = deps;
  }

  get #status(): RestoreStatus | null {
    return this.#deps.restore.status;
  }

  async run(): Promise<void> {
    const deps = this.#deps;
    if (!deps.profile) return;
    let remembered: { csv: boolean; spreadsheet: LoadedSpreadsheet | undefined; browser: Awaited<ReturnType<typeof rememberedBrowser>> };
    try {
      const [csv, spreadsheet, browser] = await Promise.all([deps.session.work.get('csv'), deps.session.work.get<LoadedSpreadsheet>('spreadsheet'), rememberedBrowser(deps)]);
      remembered = { csv: csv !== undefined, spreadsheet, browser };
    } catch (error) {
      this.#begin(['csv', 'spreadsheet', 'browser']);
      for (const name of ['csv', 'spreadsheet', 'browser'] as const) {
        this.#set(name, { state: 'failed', reason: `the session store cannot be read (${(error as Error).message})`, fix: 'start the session store (Redis) again; then restart this profile' });
      }
      this.#finish();
      return;
    }
    const wanted = (['csv', 'spreadsheet', 'browser'] as const).filter((name) => Boolean(remembered[name]));
    if (wanted.length === 0) return;
    this.#begin(wanted);
    const profile = await deps.profile.get();
    const h = deps.apiBase.replace(/\/api$/, '');
    // Chrome's part is an automation (tracked by the lock); the file and Sheets parts are tracked here.
    await Promise.all([
      profile.work.track('restore', (work) =>
        Promise.all([
          remembered.csv && this.#piece('csv', () => this.#csv(profile), `pull the CSV again (POST ${h}/api/mis/pull-csv) or upload it (POST ${h}/api/mis/upload-csv)`),
          remembered.spreadsheet && this.#piece('spreadsheet', () => this.#spreadsheet(profile, remembered.spreadsheet!, work), `load it again (POST ${h}/api/mis/load-sheet)`),
        ]),
      { cancellable: false }),
      remembered.browser && this.#piece('browser', () => this.#browser(profile, remembered.browser!.mis_logged_in), `open it again with "Init all" (POST ${h}/api/init-all)`),
    ]);
    this.#finish();
  }

  async #csv(profile: ProfileServices): Promise<string> {
    const report = await reloadCsv(this.#deps, profile);
    return report ? `${report.rows.length} rows from ${report.file}` : 'nothing to load';
  }

  async #spreadsheet(profile: ProfileServices, remembered: LoadedSpreadsheet, work: Work): Promise<string> {
    const loaded = await profile.sheets.load(remembered.spreadsheet_id, work);
    return `"${loaded.title}", ${loaded.tabs.length} tabs`;
  }

  async #browser(profile: ProfileServices, misLoggedIn: boolean): Promise<string> {
    if (!misLoggedIn) {
      await profile.automation.run('restore', (work) => {
        work.stage('starting Chrome');
        return profile.browser.page(work.signal);
      });
      return 'Chrome open';
    }
    const { mis_url } = await profile.automation.run('restore', (work) => loginToMis(this.#deps, profile, work));
    return `Chrome open, logged into ${mis_url}`;
  }

  /** Runs one piece; a failure is reported with its reason and the fix (the error's own, or `fallbackFix`). */
  async #piece(name: RestorePieceName, task: () => Promise<string>, fallbackFix: string): Promise<void> {
    try {
      this.#set(name, { state: 'restored', detail: await task() });
    } catch (error) {
      const { reason, fix } = explain(error, fallbackFix, this.#deps);
      this.#deps.log.warn({ piece: name, reason }, 'could not bring this back after the start');
      this.#set(name, { state: 'failed', reason, fix });
    }
  }

  #begin(names: RestorePieceName[]): void {
    this.#deps.restore.status = { state: 'restoring', started_at: new Date().toISOString(), finished_at: null, pieces: Object.fromEntries(names.map((n) => [n, { state: 'restoring' }])) };
    this.#report();
  }

  #set(name: RestorePieceName, piece: RestorePiece): void {
    this.#status!.pieces[name] = piece;
    this.#deps.events.publish({ type: 'restore', ...this.#status! });
  }

  #finish(): void {
    this.#status!.state = 'done';
    this.#status!.finished_at = new Date().toISOString();
    this.#report();
  }

  #report(): void {
    const status = this.#status!;
    const failed = Object.entries(status.pieces).filter(([, p]) => p.state === 'failed').map(([n]) => n);
    this.#deps.notify({ type: 'restore', state: status.state, failed });
    this.#deps.events.publish({ type: 'restore', ...status });
  }
}

/** A person's account of why a piece did not come back, and the action that fixes it. */
function explain(error: unknown, fallbackFix: string, deps: { apiBase: string }): { reason: string; fix: string } {
  const h = deps.apiBase.replace(/\/api$/, '');
  if (error instanceof ApiError) {
    switch (error.code) {
      case 'token_expired_or_revoked':
      case 'not_authenticated':
        return { reason: error.message, fix: `connect Google again ("Connect Google", or POST ${h}/api/auth/google)` };
      case 'mis_login_failed':
        return { reason: error.message, fix: `check the MIS URL, the network and the MIS credentials saved for this profile, then "Init all" (POST ${h}/api/init-all)` };
      case 'password_required':
        return { reason: error.message, fix: `save the MIS password again for the MIS in use (POST ${h}/api/save-profile-credentials with mis_password), then "Init all"` };
      case 'mis_credentials_missing':
        return { reason: error.message, fix: `save the MIS username and password (POST ${h}/api/save-profile-credentials), then "Init all"` };
      case 'browser_unavailable':
        return { reason: error.message, fix: 'install Chrome or Chromium (Debian: apt-get install chromium) or set CHROME_PATH' };
      default:
        return { reason: error.message, fix: fallbackFix };
    }
  }
  return { reason: (error as Error).message ?? String(error), fix: fallbackFix };
}
