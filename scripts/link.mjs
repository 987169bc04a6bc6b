// The build's second step (scripts/build.mjs): each process's entry, as tsc compiled it into dist/, linked with
// the modules it imports (ours and zod's) into dist/linked/<process>/ by esbuild. A start then loads a few
// files where it resolved, read and instantiated some 110 modules one by one: ~60 ms of CPU less per worker
// start (docs/benchmarks.md). The other packages are not linked in (CommonJS, taken with `require`:
// shared/runtime/cjs-imports.ts). What a process imports only on demand becomes a file of its own beside the
// entry. The source maps lead back to the .ts lines, through tsc's.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

/** The processes whose entry is linked: what `npm start` runs and what the supervisor spawns. */
const LINKED_ENTRIES = ['supervisor', 'worker'];
/** The packages linked in: ES modules, many files each. */
const LINKED_PACKAGES = ['zod'];

/** zod's entry points import the namespace of every locale: only the English one is linked in, by the rule
 *  shared/runtime/zod-english-only.ts applies to a process that runs unlinked (shared/runtime/zod-locale-rule.ts,
 *  compiled by then). */
async function zodEnglishOnly(root) {
  const { ENGLISH_LOCALE, importsEveryLocale } = await import(pathToFileURL(path.join(root, 'dist', 'shared', 'runtime', 'zod-locale-rule.js')).href);
  const english = fileURLToPath(ENGLISH_LOCALE);
  return {
    name: 'zod-english-only',
    setup(build) {
      build.onResolve({ filter: /^\.\.\/locales\/index\.js$/ }, (args) => (importsEveryLocale(args.path, args.importer) ? { path: english } : undefined));
    },
  };
}

/** Links every entry of dist/ (compiled by tsc) into dist/linked/; throws with esbuild's messages. */
export async function link(root) {
  const esbuild = await import('esbuild');
  const { dependencies } = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'));
  const plugins = [await zodEnglishOnly(root)];
  const external = Object.keys(dependencies)
    .filter((name) => !LINKED_PACKAGES.includes(name))
    .flatMap((name) => [name, `${name}/*`]);
  for (const entry of LINKED_ENTRIES) {
    await esbuild.build({
      absWorkingDir: root,
      entryPoints: [path.join(root, 'dist', entry, 'main.js')],
      outdir: path.join(root, 'dist', 'linked', entry),
      bundle: true,
      splitting: true,
      format: 'esm',
      platform: 'node',
      target: 'node22',
      external,
      plugins,
      sourcemap: true,
      sourcesContent: false,
      logLevel: 'silent',
    });
  }
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  try {
    await link(path.resolve(process.argv[2] ?? path.join(path.dirname(fileURLToPath(import.meta.url)), '..')));
  } catch (error) {
    process.stderr.write(`linking failed: ${error.message}\n`);
    process.exit(1);
  }
}
