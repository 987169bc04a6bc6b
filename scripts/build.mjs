// `npm run build` (and `prepare`, so `npm install` builds): the TypeScript sources compiled to dist/ by tsc,
// with source maps, from which logged stack traces name the .ts files; then each process's entry linked with
// its modules into dist/linked/ (scripts/link.mjs), which is what runs. The fingerprint is taken before
// compiling: a file edited during the build makes the output stale, not silently current.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { sourcesRecord, writeBuildState } from './build-state.mjs';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** Builds dist/ from scratch; throws with tsc's or esbuild's output when it fails. */
export function build(root = ROOT) {
  const record = sourcesRecord(root);
  fs.rmSync(path.join(root, 'dist'), { recursive: true, force: true });
  const tsc = path.join(root, 'node_modules', 'typescript', 'bin', 'tsc');
  for (const step of [[tsc, '-p', path.join(root, 'tsconfig.build.json')], [path.join(root, 'scripts', 'link.mjs'), root]]) {
    const result = spawnSync(process.execPath, step, { cwd: root, encoding: 'utf8' });
    if (result.status !== 0) throw new Error(`the build failed:\n${result.stdout}${result.stderr}`);
  }
  writeBuildState(root, record);
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  try {
    build();
  } catch (error) {
    process.stderr.write(`${error.message}\n`);
    process.exit(1);
  }
}
