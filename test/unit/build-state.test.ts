// Whether dist/ is current (scripts/build-state.mjs): the bytes decide; the sizes and times recorded by the
// build only spare reading an untouched tree.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { STATE_FILE, buildState, sourcesRecord, writeBuildState } from '../../scripts/build-state.mjs';

function tree(t: { after(fn: () => void): void }): string {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'tat-build-state-'));
  t.after(() => fs.rmSync(root, { recursive: true, force: true }));
  for (const dir of ['shared', 'worker', 'supervisor', 'dist']) fs.mkdirSync(path.join(root, dir));
  fs.writeFileSync(path.join(root, 'shared', 'a.ts'), 'export const a = 1;\n');
  fs.writeFileSync(path.join(root, 'worker', 'b.ts'), 'export const b = 2;\n');
  fs.writeFileSync(path.join(root, 'package.json'), '{}\n');
  fs.mkdirSync(path.join(root, 'scripts'));
  fs.writeFileSync(path.join(root, 'scripts', 'link.mjs'), '// links\n');
  fs.mkdirSync(path.join(root, 'node_modules', 'zod'), { recursive: true });
  fs.writeFileSync(path.join(root, 'node_modules', 'zod', 'package.json'), '{"version":"4.6.7"}\n');
  return root;
}

const recorded = (root: string) => JSON.parse(fs.readFileSync(path.join(root, STATE_FILE), 'utf8'));

test('nothing built yet, or a record that is no record: not current, saying so', (t) => {
  const root = tree(t);
  assert.deepEqual(buildState(root), { fresh: false, reason: 'nothing is built yet (dist/ is missing or incomplete)' });
  for (const broken of ['null', '{"sources":', '', '{}', '{"sources":7}']) {
    fs.writeFileSync(path.join(root, STATE_FILE), broken);
    assert.deepEqual(buildState(root), { fresh: false, reason: 'nothing is built yet (dist/ is missing or incomplete)' }, JSON.stringify(broken));
  }
});

test('an untouched tree is current without its files being read; a touched one is compared by its bytes', (t) => {
  const root = tree(t);
  const record = sourcesRecord(root);
  writeBuildState(root, record);
  assert.deepEqual(buildState(root), { fresh: true, sources: record.sources }, 'current, naming the version built');

  // The sizes and times alone decide an untouched tree: a record whose byte fingerprint is wrong still says current…
  writeBuildState(root, { ...recorded(root), sources: 'not the fingerprint' });
  assert.deepEqual(buildState(root), { fresh: true, sources: 'not the fingerprint' });
  // …until a time moves: then the bytes are read, and these do not match the (wrong) record.
  const file = path.join(root, 'shared', 'a.ts');
  const later = new Date(Date.now() + 5_000);
  fs.utimesSync(file, later, later);
  assert.equal(buildState(root).fresh, false);

  // The same bytes with a new time (a copy, a checkout) are current.
  const again = sourcesRecord(root);
  writeBuildState(root, again);
  const evenLater = new Date(Date.now() + 10_000);
  fs.utimesSync(file, evenLater, evenLater);
  assert.deepEqual(buildState(root), { fresh: true, sources: again.sources });
});

test('an edit, a new file, a removed file or a changed package.json makes the build stale', (t) => {
  const changes: [string, (root: string) => void][] = [
    ['edit', (root) => fs.writeFileSync(path.join(root, 'shared', 'a.ts'), 'export const a = 3;\n')],
    ['new file', (root) => fs.writeFileSync(path.join(root, 'supervisor', 'c.ts'), '')],
    ['removed file', (root) => fs.rmSync(path.join(root, 'worker', 'b.ts'))],
    ['package.json', (root) => fs.writeFileSync(path.join(root, 'package.json'), '{"type":"module"}\n')],
    ['the link step', (root) => fs.writeFileSync(path.join(root, 'scripts', 'link.mjs'), '// changed\n')],
    ['another zod installed', (root) => fs.writeFileSync(path.join(root, 'node_modules', 'zod', 'package.json'), '{"version":"4.9.0"}\n')],
  ];
  for (const [name, change] of changes) {
    const root = tree(t);
    writeBuildState(root, sourcesRecord(root));
    change(root);
    assert.deepEqual(buildState(root), { fresh: false, reason: 'the sources changed since the last build' }, name);
  }
});

test('a record from before the sizes and times were kept is still judged by the bytes', (t) => {
  const root = tree(t);
  const { sources } = sourcesRecord(root);
  fs.writeFileSync(path.join(root, STATE_FILE), JSON.stringify({ sources }));
  assert.deepEqual(buildState(root), { fresh: true, sources });
  fs.writeFileSync(path.join(root, 'shared', 'a.ts'), 'changed');
  assert.equal(buildState(root).fresh, false);
});
