import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type * as BuildState from '../../scripts/build-state.mjs';
import { PROJECT_ROOT, RUNS_COMPILED } from '../profiles/paths.ts';

/** The code this process runs, checked once at its start: `stale` says why it may not go on (a source
 *  changed after dist/ was built); else `fingerprint` names the version (the build's record of its sources
 *  when compiled, else the sources' own). Read once: a rebuild while it runs does not change what it loaded. */
export type RunningBuild = { stale: string } | { stale: null; fingerprint: string };

export async function runningBuild(): Promise<RunningBuild> {
  const { buildState, sourcesFingerprint } = (await import(pathToFileURL(path.join(PROJECT_ROOT, 'scripts', 'build-state.mjs')).href)) as typeof BuildState;
  if (!RUNS_COMPILED) return { stale: null, fingerprint: sourcesFingerprint(PROJECT_ROOT).slice(0, 16) };
  const state = buildState(PROJECT_ROOT);
  if (!state.fresh) return { stale: `${state.reason}: run "npm run build", or start it with "npm start", which builds first` };
  return { stale: null, fingerprint: state.sources.slice(0, 16) };
}
