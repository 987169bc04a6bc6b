import type { Handle } from '../../shared/profiles/handle.ts';
import type { WorkerMessage } from '../../shared/runtime/ipc.ts';
import type { Logger } from '../../shared/runtime/logger.ts';
import type { ProfileStore } from '../../shared/profiles/profile-store.ts';
import type { Settings } from '../../shared/runtime/settings.ts';
import { AutomationLock } from '../work/automation-lock.ts';
import { WorkInProgress } from '../work/work-in-progress.ts';
import { BrowserSession } from '../browser/browser-session.ts';
import { GoogleAccount } from '../google/google-account.ts';
import { SheetsConnection } from '../google/sheets.ts';
import type { CsvReport } from '../mis/csv-report.ts';
import { MisClient } from '../mis/mis-client.ts';
import type { SessionManager } from '../session/session-manager.ts';
import type { WorkerEvents } from './events.ts';

/** Everything one profile's worker holds for it: nothing here is shared with another profile. */
export interface ProfileServices {
  handle: Handle;
  google: GoogleAccount;
  sheets: SheetsConnection;
  browser: BrowserSession;
  mis: MisClient;
  automation: AutomationLock;
  /** Everything in progress (automations, Sheets loads, the restore): the supervisor waits for it. */
  work: WorkInProgress;
  /** The loaded MIS CSV (volatile; the session remembers only which file it was). */
  csv: { current: CsvReport | null };
}

export function createProfileServices(options: {
  handle: Handle;
  store: ProfileStore;
  settings: Settings;
  session: SessionManager;
  log: Logger;
  redirectUri: string;
  /** Where the profile's API is, for the fixes messages name. */
  apiBase: string;
  notify(message: WorkerMessage): void;
  events: WorkerEvents;
}): ProfileServices {
  const { handle, store, settings, session, log } = options;
  const paths = store.profilePaths(handle);
  const google = new GoogleAccount({ handle, store, log, redirectUri: options.redirectUri, apiBase: options.apiBase });
  // The supervisor never recycles (until it is done, within its limit) nor idle-stops a worker at work.
  const work = new WorkInProgress(
    (running) => options.notify({ type: 'work', running }),
    (view) => options.events.publish({ type: 'work', ...view }),
  );
  return {
    handle,
    google,
    sheets: new SheetsConnection(google, session.work, settings.GOOGLE_API_ROOT, options.apiBase),
    browser: new BrowserSession({
      chromePath: settings.CHROME_PATH,
      headless: settings.HEADLESS,
      userDataDir: paths.chromeDir,
      downloadsDir: paths.downloads,
      log,
      onPid: (pid) => options.notify({ type: 'browser', pid }),
      onChange: (status) => options.events.publish({ type: 'browser', ...status }),
    }),
    mis: new MisClient(log, options.apiBase),
    automation: new AutomationLock(work, (running) => options.events.publish({ type: 'automation', running })),
    work,
    csv: { current: null },
  };
}
