// Whether dist/ (the compiled JavaScript that `npm start` runs) matches the sources: one fingerprint of every
// source file's path and bytes, written by the build and compared by whoever runs the output (the launcher,
// the supervisor, each worker). Bytes decide, not times: a copy or a checkout of the same files is still
// current, and any edit is seen. The build also records each file's size and time, so that a check finds an
// untouched tree current without reading it. Plain JavaScript: it must work before anything is built.
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

/** What the build reads: a change to any of these makes dist/ stale. zod is linked into the entries
 *  (scripts/link.mjs): another version of it installed is a change too. */
const SOURCE_DIRS = ['shared', 'worker', 'supervisor'];
const SOURCE_FILES = ['package.json', 'tsconfig.json', 'tsconfig.build.json', 'scripts/link.mjs', 'node_modules/zod/package.json'];
export const STATE_FILE = path.join('dist', 'build-state.json');

/** Each source file the build reads, in a fixed order. @param {string} root
 *  @param {(relative: string, stat: fs.Stats | null) => void} each (null: a named file is missing) */
function visitSources(root, each) {
  const visit = (relative) => {
    const full = path.join(root, relative);
    let stat;
    try {
      stat = fs.statSync(full);
    } catch {
      each(relative, null);
      return;
    }
    if (stat.isDirectory()) {
      for (const name of fs.readdirSync(full).sort()) {
        if (name === 'public' || name === 'ui' || name === 'node_modules') continue; // served as they are, not compiled
        visit(path.join(relative, name));
      }
    } else if (relative.endsWith('.ts') || SOURCE_FILES.includes(relative)) {
      each(relative, stat);
    }
  };
  for (const entry of [...SOURCE_DIRS, ...SOURCE_FILES]) visit(entry);
}

/** @param {string} root @returns {string} */
export function sourcesFingerprint(root) {
  const hash = createHash('sha256');
  visitSources(root, (relative, stat) => {
    if (!stat) hash.update(`${relative} missing\n`);
    else hash.update(`${relative} ${stat.size}\n`).update(fs.readFileSync(path.join(root, relative)));
  });
  return hash.digest('hex');
}

/** Each source file's size and modification time: when none changed since the build, its files need not be
 *  read again to know it is current (a check at every process start). A copy or a checkout that changes a
 *  time only costs the reading. @param {string} root @returns {string} */
export function sourcesStat(root) {
  const hash = createHash('sha256');
  visitSources(root, (relative, stat) => hash.update(stat ? `${relative} ${stat.size} ${stat.mtimeMs}\n` : `${relative} missing\n`));
  return hash.digest('hex');
}

/** Whether dist/ is current; when it is, `sources`: the build's fingerprint of what it compiled (the version a
 *  process runs). @param {string} root @returns {{ fresh: true; sources: string } | { fresh: false; reason: string }} */
export function buildState(root) {
  let sources, stat;
  try {
    ({ sources, stat } = JSON.parse(fs.readFileSync(path.join(root, STATE_FILE), 'utf8')));
  } catch {
    return { fresh: false, reason: 'nothing is built yet (dist/ is missing or incomplete)' };
  }
  if (typeof sources !== 'string') return { fresh: false, reason: 'nothing is built yet (dist/ is missing or incomplete)' };
  if (stat !== undefined && stat === sourcesStat(root)) return { fresh: true, sources };
  if (sources !== sourcesFingerprint(root)) return { fresh: false, reason: 'the sources changed since the last build' };
  return { fresh: true, sources };
}

/** Taken before compiling, in this order: a file changed during the build or between the two makes the
 *  record older than the output, never newer. @param {string} root */
export function sourcesRecord(root) {
  const stat = sourcesStat(root);
  return { sources: sourcesFingerprint(root), stat };
}

/** @param {string} root @param {{ sources: string; stat: string }} record */
export function writeBuildState(root, record) {
  fs.writeFileSync(path.join(root, STATE_FILE), `${JSON.stringify({ ...record, built_at: new Date().toISOString() })}\n`);
}
