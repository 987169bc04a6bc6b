// zod's English locale only, in every process: linked in (scripts/link.mjs) for the supervisor and the
// workers, preloaded (shared/runtime/zod-english-only.ts) for whatever runs unlinked; it answers exactly as
// with all of them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { PROJECT_ROOT } from '../../shared/profiles/paths.ts';

const HOOK = path.join(PROJECT_ROOT, 'shared', 'runtime', 'zod-english-only.ts');
const PROBE = `
const { z } = await import('zod');
const issue = z.object({ n: z.number().min(2) }).safeParse({ n: 'x' }).error.issues[0];
console.log(JSON.stringify({ locales: Object.keys(z.locales), message: issue.message, path: issue.path, strict: z.strictObject({}).safeParse({ a: 1 }).error.issues[0].message }));
`;

function probe(preload: boolean): { locales: string[]; message: string; path: string[]; strict: string } {
  const args = [...(preload ? ['--import', HOOK] : []), '--input-type=module', '-e', PROBE];
  const run = spawnSync(process.execPath, args, { cwd: PROJECT_ROOT, encoding: 'utf8', timeout: 30_000 });
  assert.equal(run.status, 0, run.stderr);
  return JSON.parse(run.stdout);
}

test('with the preload zod has its English locale only, and says the same as without it', () => {
  const all = probe(false);
  const english = probe(true);
  assert.ok(all.locales.length > 60, `zod without the preload: ${all.locales.length} locales`);
  assert.deepEqual(english.locales, ['en']);
  assert.deepEqual({ ...english, locales: null }, { ...all, locales: null });
  assert.match(english.message, /expected number, received string/);
});

test('the linked supervisor and worker carry zod with its English locale only', () => {
  for (const entry of ['supervisor', 'worker']) {
    const dir = path.join(PROJECT_ROOT, 'dist', 'linked', entry);
    const sources = fs
      .readdirSync(dir)
      .filter((file) => file.endsWith('.js.map'))
      .flatMap((file) => (JSON.parse(fs.readFileSync(path.join(dir, file), 'utf8')).sources as string[]).map((source) => path.resolve(dir, source)));
    assert.ok(sources.some((s) => s.includes(`${path.sep}zod${path.sep}v4${path.sep}core${path.sep}`)), `${entry}: zod is linked in`);
    const locales = sources.filter((s) => s.includes(`${path.sep}zod${path.sep}v4${path.sep}locales${path.sep}`)).map((s) => path.basename(s));
    assert.deepEqual([...new Set(locales)], ['en.js'], `${entry}: the locales linked in`);
  }
});

test('no source uses a zod locale but English (the preload leaves no other)', () => {
  const offenders: string[] = [];
  for (const dir of ['shared', 'worker', 'supervisor', 'scripts', 'bench']) {
    for (const file of fs.readdirSync(path.join(PROJECT_ROOT, dir), { recursive: true }) as string[]) {
      if (!/\.(ts|mjs|js)$/.test(file) || /zod-english-/.test(file)) continue; // the preload and its locale
      const text = fs.readFileSync(path.join(PROJECT_ROOT, dir, file), 'utf8');
      if (/\bz\.locales\b|\blocales\.(?!en\b)\w+|from 'zod\/(?:v4\/)?locales(?!\/en\.js')/.test(text)) offenders.push(path.join(dir, file));
    }
  }
  assert.deepEqual(offenders, []);
});
