// Every worker (and whatever `npm start` starts) preloads shared/runtime/zod-english-only.ts: zod loads its
// English locale only, and answers exactly as before.
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
