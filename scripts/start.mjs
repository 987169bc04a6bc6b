// `npm start` (the supervisor) and `npm run worker`: the compiled entry point, built again first when a
// source is newer than dist/, and run with source maps so that stack traces name the .ts files.
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { buildState } from './build-state.mjs';
import { ROOT, build } from './build.mjs';

const entry = process.argv[2];
if (entry !== 'supervisor' && entry !== 'worker') {
  process.stderr.write('usage: node scripts/start.mjs supervisor|worker\n');
  process.exit(64);
}
const state = buildState(ROOT);
if (!state.fresh) {
  process.stderr.write(`tat-mis: ${state.reason}; building (npm run build)…\n`);
  try {
    build(ROOT);
  } catch (error) {
    process.stderr.write(`${error.message}\n`);
    process.exit(1);
  }
}
process.setSourceMapsEnabled(true);
await import(pathToFileURL(path.join(ROOT, 'dist', entry, 'main.js')).href);
