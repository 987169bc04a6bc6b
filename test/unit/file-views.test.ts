// FileViews (shared/files/file-views.ts) in this process: a value is computed once until its folder reports a
// change naming the file, a change made before a read is always seen, and what is kept per folder is bounded.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { FileViews, MAX_KEPT_PER_FOLDER } from '../../shared/files/file-views.ts';
import { createLogger } from '../../shared/runtime/logger.ts';

const silent = createLogger({ level: 'silent' });

function folder(t: import('node:test').TestContext): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tat-views-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

test('a value is read once, and again after its file changes', async (t) => {
  const dir = folder(t);
  const file = path.join(dir, 'a.json');
  fs.writeFileSync(file, '1');
  const views = new FileViews(silent);
  let loads = 0;
  const read = () => views.view(file, 'text', async () => (loads++, fs.readFileSync(file, 'utf8')));
  assert.equal(await read(), '1');
  assert.equal(await read(), '1');
  assert.equal(loads, 1, 'the second read came from memory');
  fs.writeFileSync(file, '2');
  assert.equal(await read(), '2', 'a change made before the read is seen');
  assert.equal(loads, 2);
});

test('what is kept per folder is bounded: a flood of names lets the oldest go', async (t) => {
  const dir = folder(t);
  const views = new FileViews(silent);
  const loads = new Map<string, number>();
  const ask = (name: string) => views.view(path.join(dir, name), 'exists', async () => (loads.set(name, (loads.get(name) ?? 0) + 1), false));
  await ask('first');
  await ask('first');
  assert.equal(loads.get('first'), 1);
  for (let i = 0; i < MAX_KEPT_PER_FOLDER; i++) await ask(`other-${i}`);
  await ask('first');
  assert.equal(loads.get('first'), 2, 'read again once the folder\'s values were let go');
});
