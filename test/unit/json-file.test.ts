import { test, afterEach, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { FileWriteError, readJsonFile, writeJsonFileAtomic } from '../../shared/files/json-file.ts';

let dir: string;
beforeEach(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'tat-json-'));
});
afterEach(async () => {
  await fs.rm(dir, { recursive: true, force: true });
});

const mode = async (p: string) => (await fs.stat(p)).mode & 0o777;
const leftovers = async (d: string) => (await fs.readdir(d)).filter((n) => n.endsWith('.tmp'));

test('a secret write creates the file 0600 in a folder 0700', async () => {
  const file = path.join(dir, 'tokens', 'token_nick.tat.json');
  await writeJsonFileAtomic(file, { placeholder: true, handle: 'nick.tat' }, { secret: true });
  assert.deepEqual(JSON.parse(await fs.readFile(file, 'utf8')), { placeholder: true, handle: 'nick.tat' });
  assert.equal(await mode(file), 0o600);
  assert.equal(await mode(path.dirname(file)), 0o700);
  assert.deepEqual(await leftovers(path.dirname(file)), []);
});

test('a secret write tightens an existing folder and replaces a looser file', async () => {
  const sub = path.join(dir, 'blaze_configs');
  await fs.mkdir(sub, { mode: 0o755 });
  await fs.chmod(sub, 0o755);
  const file = path.join(sub, 'blaze_config_a.json');
  await fs.writeFile(file, '{}');
  await fs.chmod(file, 0o644);
  await writeJsonFileAtomic(file, { mis_password: 'x' }, { secret: true });
  assert.equal(await mode(file), 0o600);
  assert.equal(await mode(sub), 0o700);
});

test('a plain write creates the file 0644', async () => {
  const file = path.join(dir, 'last_profile.json');
  await writeJsonFileAtomic(file, { last_profile: 'nick.tat' });
  assert.equal(await mode(file), 0o644);
  assert.deepEqual(JSON.parse(await fs.readFile(file, 'utf8')), { last_profile: 'nick.tat' });
});

test('a write that fails before the rename leaves the old file byte-identical and no temp file', async () => {
  const file = path.join(dir, 'blaze_config_a.json');
  const original = '{\n  "mis_username": "keep-me"\n}\n';
  await fs.writeFile(file, original);
  const poisoned = {
    mis_username: 'new',
    nested: {
      toJSON() {
        throw new Error('serialisation failed half-way');
      },
    },
  };
  await assert.rejects(writeJsonFileAtomic(file, poisoned, { secret: true }), (error: unknown) => {
    assert.ok(error instanceof FileWriteError);
    assert.equal(error.file, file);
    return true;
  });
  assert.equal(await fs.readFile(file, 'utf8'), original);
  assert.deepEqual(await leftovers(dir), []);
  assert.deepEqual(await fs.readdir(dir), ['blaze_config_a.json']);
});

test('an exclusive write fails with EEXIST and leaves the existing file', async () => {
  const file = path.join(dir, 'token_a.json');
  await fs.writeFile(file, '{"token":"existing"}');
  await assert.rejects(writeJsonFileAtomic(file, { placeholder: true, handle: 'a' }, { secret: true, exclusive: true }), (error: unknown) => {
    assert.ok(error instanceof FileWriteError);
    assert.equal(error.code, 'EEXIST');
    return true;
  });
  assert.equal(await fs.readFile(file, 'utf8'), '{"token":"existing"}');
  assert.deepEqual(await leftovers(dir), []);
});

test('an exclusive write creates the file when there is none', async () => {
  const file = path.join(dir, 'token_a.json');
  await writeJsonFileAtomic(file, { placeholder: true, handle: 'a' }, { secret: true, exclusive: true });
  assert.deepEqual(JSON.parse(await fs.readFile(file, 'utf8')), { placeholder: true, handle: 'a' });
  assert.equal(await mode(file), 0o600);
  assert.deepEqual(await leftovers(dir), []);
});

test('readJsonFile: missing file is missing', async () => {
  assert.deepEqual(await readJsonFile(path.join(dir, 'nope.json')), { status: 'missing' });
  assert.deepEqual(await readJsonFile(path.join(dir, 'no-dir', 'nope.json')), { status: 'missing' });
});

test('readJsonFile: parsed value is ok', async () => {
  const file = path.join(dir, 'ok.json');
  await fs.writeFile(file, '{"a":[1,2],"b":null}');
  assert.deepEqual(await readJsonFile(file), { status: 'ok', value: { a: [1, 2], b: null } });
});

test('readJsonFile: invalid, truncated or empty JSON is corrupt', async () => {
  for (const text of ['{"a":', '', 'not json', '{"a":1}garbage']) {
    const file = path.join(dir, 'bad.json');
    await fs.writeFile(file, text);
    const read = await readJsonFile(file);
    assert.equal(read.status, 'corrupt', JSON.stringify(text));
    assert.match((read as { reason: string }).reason, /not valid JSON/);
  }
});

test('readJsonFile: a directory in place of the file is corrupt, not missing', async () => {
  const file = path.join(dir, 'isdir.json');
  await fs.mkdir(file);
  assert.equal((await readJsonFile(file)).status, 'corrupt');
});
