// Logged stack traces name the .ts lines (shared/runtime/source-mapped-stack.ts): only frames, only in the
// compiled files under dist/.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { sourceMappedStackIn } from '../../shared/runtime/source-mapped-stack.ts';

// Generated line 1 → source line 1, generated line 2 → source line 2 (column 0 to column 0).
const MAP = { version: 3, file: 'a.js', sources: ['../src/a.ts'], names: [], mappings: 'AAAA;AACA' };

function project(t: { after(fn: () => void): void }) {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'tat-stack-'));
  t.after(() => fs.rmSync(root, { recursive: true, force: true }));
  const dist = path.join(root, 'dist');
  fs.mkdirSync(dist);
  fs.writeFileSync(path.join(dist, 'a.js'), 'x;\ny;\n');
  fs.writeFileSync(path.join(dist, 'a.js.map'), JSON.stringify(MAP));
  // A map outside dist/ that must never be read.
  fs.writeFileSync(path.join(root, 'outside.js.map'), JSON.stringify({ ...MAP, sources: ['secret-name.ts'] }));
  return { root, dist };
}

test('a frame in a compiled file is named by its .ts line, as a path or a file URL', (t) => {
  const { root, dist } = project(t);
  const stack = ['Error: boom', `    at run (${path.join(dist, 'a.js')}:2:1)`, `    at ${pathToFileURL(path.join(dist, 'a.js')).href}:1:1`].join('\n');
  assert.equal(sourceMappedStackIn(dist, stack), ['Error: boom', `    at run (${path.join(root, 'src', 'a.ts')}:2:1)`, `    at ${path.join(root, 'src', 'a.ts')}:1:1`].join('\n'));
});

test('the message, frames outside dist/ (.. included) and files without a map stay as they are', (t) => {
  const { root, dist } = project(t);
  const stack = [
    `Error: invalid handle "${path.join(dist, 'a.js')}:2:1"`,
    `    at x (${dist}/../outside.js:2:1)`,
    `    at y (${path.join(root, 'outside.js')}:2:1)`,
    `    at z (${path.join(dist, 'no-map.js')}:2:1)`,
    '    at node:internal/process/task_queues:95:5',
  ].join('\n');
  assert.equal(sourceMappedStackIn(dist, stack), stack);
});
