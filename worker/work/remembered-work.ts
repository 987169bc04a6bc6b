import fs from 'node:fs/promises';
import path from 'node:path';
import { ApiError } from '../../shared/http/api-error.ts';
import { originOf, passwordOrigin } from '../../shared/profiles/blaze-config.ts';
import type { ProfileStore } from '../../shared/profiles/profile-store.ts';
import type { Logger } from '../../shared/runtime/logger.ts';
import type { Settings } from '../../shared/runtime/settings.ts';
import type { ProfileServices } from '../profile/profile-services.ts';
import type { SessionManager } from '../session/session-manager.ts';
import type { CsvReport } from '../mis/csv-report.ts';
import type { Work } from './work-in-progress.ts';

// What a profile's work is, kept in its session store (file or Redis), in a namespace of its own that the
// pages' values never touch, so that a new worker — after any recycle, on any shard — brings it back
// (worker/work/restore.ts). The volatile pieces (the parsed CSV, Chrome, the Sheets client) stay in the
// process; only what rebuilds them is remembered.

/** What remembering the work needs of a worker. */
export interface RememberedWorkDeps {
  session: SessionManager;
  store: ProfileStore;
  settings: Settings;
  log: Logger;
  /** Where the profile's API is, for the fixes messages name. */
  apiBase: string;
}

// The CSV parser is loaded with the first CSV, not at start-up.
const csv = () => import('../mis/csv-report.ts');

/** The loaded MIS CSV: its file (in the profile's download folder) and where it came from. */
interface RememberedCsv {
  file: string;
  source: 'mis' | 'upload';
}

/** Chrome was open and logged into the MIS: reopened and logged in again after a restart. */
interface RememberedBrowser {
  open: true;
  mis_logged_in: boolean;
}

/** Holds the report in memory and remembers its file, so a recycled worker reloads it. */
export async function keepCsv(deps: RememberedWorkDeps, profile: ProfileServices, report: CsvReport) {
  profile.csv.current = report;
  const summary = (await csv()).summarise(report);
  await deps.session.work.set('csv', { file: report.file, source: report.source, loaded_at: report.loaded_at, row_count: summary.row_count });
  return summary;
}

/** The remembered CSV loaded again; `null` when none is remembered. Throws when its file is gone. */
export async function reloadCsv(deps: RememberedWorkDeps, profile: ProfileServices): Promise<CsvReport | null> {
  const remembered = await deps.session.work.get<Partial<RememberedCsv>>('csv');
  const file = typeof remembered?.file === 'string' ? path.basename(remembered.file) : null;
  if (!file) return null;
  const full = path.join(deps.store.profilePaths(profile.handle).downloads, file);
  let text: string;
  try {
    text = await fs.readFile(full, 'utf8');
  } catch {
    throw new ApiError(404, 'not_found', `the CSV ${deps.store.relative(full)} no longer exists`);
  }
  profile.csv.current = (await csv()).parseCsvReport(text, file, remembered?.source === 'upload' ? 'upload' : 'mis');
  return profile.csv.current;
}

/** Starts Chrome if needed and logs into the MIS with the profile's saved credentials; remembers that the
 *  browser is open and logged in. The browser's status says where the sign-in stands at every moment. */
export async function loginToMis(deps: RememberedWorkDeps, profile: ProfileServices, work: Work) {
  let config = await deps.store.readBlazeConfig(profile.handle);
  // A file from before passwords kept their site: the site in use now is pinned at first use, so that a
  // MIS_URL changed later cannot take the password elsewhere.
  if ((config.mis_password && !config.mis_password_origin) || (config.blaze_password && !config.blaze_password_origin)) config = await deps.store.mergeBlazeConfig(profile.handle, {}, deps.settings);
  if (!config.mis_username || !config.mis_password) {
    throw new ApiError(409, 'mis_credentials_missing', `save the MIS username and password for this profile first (MIS / Blaze on its page, or POST ${deps.apiBase}/save-profile-credentials)`);
  }
  const misUrl = config.mis_url || deps.settings.MIS_URL;
  // The password goes only to the site it was saved for (a MIS_URL changed since is another site).
  const passwordFor = passwordOrigin(config, 'mis', deps.settings);
  if (originOf(misUrl) !== passwordFor) {
    throw new ApiError(409, 'password_required', `the MIS password of this profile was saved for ${passwordFor}, and the MIS is now ${originOf(misUrl)}: save the password again for it (MIS / Blaze on the profile's page, or POST ${deps.apiBase}/save-profile-credentials with mis_password)`);
  }
  const startsChrome = !profile.browser.ready;
  work.stage(startsChrome ? 'starting Chrome' : 'using the open Chrome');
  // Cancelled, it leaves things as they were: a Chrome it started is closed again.
  const closeOnCancel = startsChrome ? work.onCancel(() => profile.browser.close(1000)) : () => {};
  let misLogin: 'logged_in' | 'already_logged_in';
  let page: Awaited<ReturnType<typeof profile.browser.page>>;
  try {
    page = await profile.browser.page(work.signal);
    profile.browser.setMis({ state: 'signing-in', url: misUrl, error: null });
    try {
      misLogin = await profile.mis.login(page, { url: misUrl, username: config.mis_username, password: config.mis_password, passwordFor }, work);
    } catch (error) {
      profile.browser.setMis(work.cancelled ? null : { state: 'failed', url: misUrl, error: (error as Error).message });
      throw error;
    }
  } finally {
    closeOnCancel();
  }
  profile.browser.setMis({ state: 'logged-in', url: misUrl, error: null });
  const browser: RememberedBrowser = { open: true, mis_logged_in: true };
  // The login worked; a session store that is down only means it is not reopened after a restart.
  await deps.session.work.set('browser', browser).catch((error) => deps.log.warn({ err: error }, 'Chrome will not be reopened after a restart: the session store is unavailable'));
  return { page, mis_login: misLogin, mis_url: misUrl };
}

/** Chrome closed on purpose: not reopened after a restart. */
export async function forgetBrowser(deps: RememberedWorkDeps): Promise<void> {
  await deps.session.work.delete('browser');
}

export async function rememberedBrowser(deps: RememberedWorkDeps): Promise<RememberedBrowser | null> {
  const value = await deps.session.work.get<Partial<RememberedBrowser>>('browser');
  return value?.open === true ? { open: true, mis_logged_in: value.mis_logged_in === true } : null;
}
