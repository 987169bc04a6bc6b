import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type * as BuildState from '../../scripts/build-state.mjs';
import { PROJECT_ROOT, RUNS_COMPILED } from '../profiles/paths.ts';

/** Compiled code never runs stale: `null` when this process may go on, else why not (a source changed after
 *  dist/ was built). The sources run directly are always current. */
export async function staleBuild(): Promise<string | null> {
  if (!RUNS_COMPILED) return null;
  const { buildState } = (await import(pathToFileURL(path.join(PROJECT_ROOT, 'scripts', 'build-state.mjs')).href)) as typeof BuildState;
  const state = buildState(PROJECT_ROOT);
  return state.fresh ? null : `${state.reason}: run "npm run build", or start it with "npm start", which builds first`;
}

/** The fingerprint of the code this process runs: the build's record of its sources when compiled, else the
 *  sources' own. Read once at start: a rebuild while it runs does not change what it loaded. */
export async function buildFingerprint(): Promise<string> {
  const { sourcesFingerprint, STATE_FILE } = (await import(pathToFileURL(path.join(PROJECT_ROOT, 'scripts', 'build-state.mjs')).href)) as typeof BuildState;
  if (!RUNS_COMPILED) return sourcesFingerprint(PROJECT_ROOT).slice(0, 16);
  try {
    return String(JSON.parse(fs.readFileSync(path.join(PROJECT_ROOT, STATE_FILE), 'utf8')).sources).slice(0, 16);
  } catch {
    return 'unknown';
  }
}
