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
