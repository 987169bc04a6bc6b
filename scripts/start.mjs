// `npm start` (the supervisor), `npm run worker`, `npm run user` and `npm run stop`: the compiled entry point, built again first when a
// source is newer than dist/. Logged stack traces name the .ts files (shared/runtime/source-mapped-stack.ts).
import { enableCompileCache } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { buildState } from './build-state.mjs';
import { ROOT, build } from './build.mjs';

// The supervisor and the worker run linked (dist/linked/, scripts/link.mjs); the two small commands as tsc
// compiled them.
const ENTRIES = { supervisor: 'linked/supervisor/main.js', worker: 'linked/worker/main.js', user: 'supervisor/access/users-cli.js', stop: 'supervisor/stop-cli.js' };
const entry = process.argv[2];
if (!Object.hasOwn(ENTRIES, entry)) {
  process.stderr.write(`usage: node scripts/start.mjs ${Object.keys(ENTRIES).join('|')}\n`);
  process.exit(64);
}
// The command's own arguments, as its process sees them.
process.argv.splice(2, 1);
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
const load = (file) => import(pathToFileURL(path.join(ROOT, 'dist', file)).href);
// Node's compile cache, before the entry's modules load: every start after the first skips compiling them.
// NODE_COMPILE_CACHE, when set, has done this already; set here, it tells the supervisor which folder to hand
// its workers.
if (!process.env.NODE_COMPILE_CACHE) {
  const { compileCacheDir } = await load('supervisor/workers/runtime-dir.js');
  const dir = compileCacheDir();
  if (dir) {
    enableCompileCache(dir);
    process.env.NODE_COMPILE_CACHE = dir;
  }
}
// Before any module imports zod (see the file); a linked entry has zod's English locale linked in.
if (!ENTRIES[entry].startsWith('linked/')) await load('shared/runtime/zod-english-only.js');
await load(ENTRIES[entry]);
