import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Handle } from './handle.ts';

// Linked into dist/linked/<process>/ (scripts/link.mjs), this code sits as deep under dist/ as tsc's copy in
// dist/shared/profiles/, so RUNS_COMPILED and PROJECT_ROOT below come out the same from either.
const HERE = path.dirname(fileURLToPath(import.meta.url));
/** True when this is the JavaScript compiled into `dist/` (what `npm start` runs), false when Node runs the
 *  TypeScript sources directly (unit tests, development). */
export const RUNS_COMPILED = path.basename(path.resolve(HERE, '../..')) === 'dist';
/** The project's folder (where `package.json`, `config/` and the pages are), from either. */
export const PROJECT_ROOT = path.resolve(HERE, RUNS_COMPILED ? '../../..' : '../..');

/** A module of the project (`worker/main`): the compiled file when this code is compiled (or `compiled` is
 *  asked for), else the source. */
export function projectModule(name: string, compiled = RUNS_COMPILED): string {
  return compiled ? path.join(PROJECT_ROOT, 'dist', `${name}.js`) : path.join(PROJECT_ROOT, `${name}.ts`);
}

/** The file that starts a process: compiled, its entry linked with its modules (`dist/linked/`, written by
 *  scripts/link.mjs), else the source. */
export function entryPoint(which: 'supervisor' | 'worker', compiled = RUNS_COMPILED): string {
  return compiled ? path.join(PROJECT_ROOT, 'dist', 'linked', which, 'main.js') : projectModule(`${which}/main`, false);
}

/** `TAT_CONFIG_DIR` or `<project>/config`. */
export function resolveConfigDir(env: NodeJS.ProcessEnv = process.env): string {
  const fromEnv = env.TAT_CONFIG_DIR?.trim();
  return fromEnv ? path.resolve(fromEnv) : path.join(PROJECT_ROOT, 'config');
}

/** Every path under the config dir that is not about one profile (docs/architecture.md, "Files under the
 *  config dir"). */
export function configPaths(configDir: string) {
  return {
    configDir,
    tokensDir: path.join(configDir, 'tokens'),
    credentialsDir: path.join(configDir, 'google_creds'),
    blazeConfigsDir: path.join(configDir, 'blaze_configs'),
    chromeRoot: path.join(configDir, 'chrome'),
    sessionsDir: path.join(configDir, 'sessions'),
    downloadsRoot: path.join(configDir, 'downloads'),
    lastProfile: path.join(configDir, 'last_profile.json'),
    settings: path.join(configDir, 'settings.json'),
    ports: path.join(configDir, 'ports.json'),
    users: path.join(configDir, 'users.json'),
    /** Sign-in sessions (AUTH=local), unless they live in Redis. */
    signIns: path.join(configDir, 'sign-ins.json'),
  };
}
export type ConfigPaths = ReturnType<typeof configPaths>;

/** Every path under the config dir that belongs to one profile. `handle` must come from `parseHandle`. */
export function profilePaths(configDir: string, handle: Handle) {
  return profilePathsIn(configPaths(configDir), handle);
}

/** The same, under folders already known: a handle holds no separator and the folders are normalised, so
 *  joining is appending (the routes a page polls ask for these on every request). */
export function profilePathsIn(dirs: ConfigPaths, handle: Handle) {
  const sep = path.sep;
  return {
    credentials: `${dirs.credentialsDir}${sep}credentials_${handle}.json`,
    token: `${dirs.tokensDir}${sep}token_${handle}.json`,
    blazeConfig: `${dirs.blazeConfigsDir}${sep}blaze_config_${handle}.json`,
    chromeDir: `${dirs.chromeRoot}${sep}chrome_${handle}`,
    session: `${dirs.sessionsDir}${sep}session_${handle}.json`,
    downloads: `${dirs.downloadsRoot}${sep}${handle}`,
  };
}
export type ProfilePaths = ReturnType<typeof profilePaths>;

/** A path as a person is told to put a file there: `config/google_creds/credentials_x.json` under the
 *  project's own config dir (as the README says it), else the full path. */
export function shownPath(configDir: string, target: string): string {
  return isProjectConfig(configDir) ? `config/${relativeToConfig(configDir, target)}` : target;
}

let lastConfigDir: { dir: string; isProject: boolean } | null = null;
function isProjectConfig(configDir: string): boolean {
  if (lastConfigDir?.dir !== configDir) lastConfigDir = { dir: configDir, isProject: path.resolve(configDir) === path.join(PROJECT_ROOT, 'config') };
  return lastConfigDir.isProject;
}

/** A path as users see it in messages: relative to the config dir (`google_creds/credentials_x.json`). */
export function relativeToConfig(configDir: string, target: string): string {
  return path.relative(configDir, target).split(path.sep).join('/');
}

/** Handle encoded in a profile file name (`token_<h>.json`, `credentials_<h>.json`), or null. */
export function handleFromFileName(fileName: string, prefix: 'token_' | 'credentials_'): string | null {
  if (!fileName.startsWith(prefix) || !fileName.endsWith('.json')) return null;
  return fileName.slice(prefix.length, -'.json'.length);
}
