// Node's compile cache holds code that V8 runs without checking it: it lives in this user's private runtime
// folder (README, "Proxying"), never in a folder another user could have made first.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { compileCacheDir, configRuntimeDir, userRuntimeBase } from '../../supervisor/workers/runtime-dir.ts';

function tempDir(t: { after(fn: () => void): void }): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tat-cache-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

test("the cache is in the user's private runtime folder, made 0700", (t) => {
  const base = path.join(tempDir(t), 'run');
  fs.mkdirSync(base, { mode: 0o777 });
  fs.chmodSync(base, 0o777);
  const env = { RUNTIME_DIRECTORY: base };
  assert.equal(compileCacheDir(env), path.join(base, 'compile-cache'));
  assert.equal(fs.statSync(base).mode & 0o777, 0o700);
  // The same folder the config dirs' runtime folders are in.
  assert.equal(path.dirname(configRuntimeDir('/some/config', env)), userRuntimeBase(env));
  const user = process.getuid?.() ?? os.userInfo().username;
  assert.equal(compileCacheDir({}), path.join(os.tmpdir(), `tat-mis-${user}`, 'compile-cache'));
});

test('a folder that is not a plain folder of this user is never used: a symbolic link, a file', (t) => {
  const dir = tempDir(t);
  const real = path.join(dir, 'real');
  fs.mkdirSync(real);
  fs.symlinkSync(real, path.join(dir, 'link'));
  assert.equal(compileCacheDir({ RUNTIME_DIRECTORY: path.join(dir, 'link') }), null);
  fs.writeFileSync(path.join(dir, 'file'), '');
  assert.equal(compileCacheDir({ RUNTIME_DIRECTORY: path.join(dir, 'file') }), null);
});

test("another user's folder, made first at the same path, is never used", (t) => {
  if (process.getuid?.() !== 0) {
    t.skip('only root can give a folder to another user here');
    return;
  }
  const planted = path.join(tempDir(t), 'planted');
  fs.mkdirSync(planted, { mode: 0o777 });
  fs.chownSync(planted, 65534, 65534);
  assert.equal(compileCacheDir({ RUNTIME_DIRECTORY: planted }), null);
  assert.equal(fs.statSync(planted).uid, 65534, 'left as it was');
});
