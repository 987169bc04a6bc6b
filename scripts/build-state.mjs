// Whether dist/ (the compiled JavaScript that `npm start` runs) matches the sources: one fingerprint of every
// source file's path and bytes, written by the build and compared by whoever runs the output (the launcher,
// the supervisor, each worker). Bytes, not times: a copy or a checkout of the same files is still current,
// and any edit is seen. Plain JavaScript: it must work before anything is built.
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

/** What the build reads: a change to any of these makes dist/ stale. */
const SOURCE_DIRS = ['shared', 'worker', 'supervisor'];
const SOURCE_FILES = ['package.json', 'tsconfig.json', 'tsconfig.build.json'];
export const STATE_FILE = path.join('dist', 'build-state.json');

/** @param {string} root @returns {string} */
export function sourcesFingerprint(root) {
  const hash = createHash('sha256');
  const visit = (relative) => {
    const full = path.join(root, relative);
    let stat;
    try {
      stat = fs.statSync(full);
    } catch {
      hash.update(`${relative} missing\n`);
      return;
    }
    if (stat.isDirectory()) {
      for (const name of fs.readdirSync(full).sort()) {
        if (name === 'public' || name === 'ui' || name === 'node_modules') continue; // served as they are, not compiled
        visit(path.join(relative, name));
      }
    } else if (relative.endsWith('.ts') || SOURCE_FILES.includes(relative)) {
      hash.update(`${relative} ${stat.size}\n`).update(fs.readFileSync(full));
    }
  };
  for (const entry of [...SOURCE_DIRS, ...SOURCE_FILES]) visit(entry);
  return hash.digest('hex');
}

/** @param {string} root @returns {{ fresh: true } | { fresh: false; reason: string }} */
export function buildState(root) {
  let recorded;
  try {
    recorded = JSON.parse(fs.readFileSync(path.join(root, STATE_FILE), 'utf8')).sources;
  } catch {
    return { fresh: false, reason: 'nothing is built yet (dist/ is missing or incomplete)' };
  }
  if (recorded !== sourcesFingerprint(root)) return { fresh: false, reason: 'the sources changed since the last build' };
  return { fresh: true };
}

/** @param {string} root @param {string} fingerprint */
export function writeBuildState(root, fingerprint) {
  fs.writeFileSync(path.join(root, STATE_FILE), `${JSON.stringify({ sources: fingerprint, built_at: new Date().toISOString() })}\n`);
}
