// JSON answers without Node's fetch (shared/http/json-bodies.ts): each process answers JSON exactly as Koa
// does, without Koa's `instanceof Response` loading Node's bundled undici into it (memory in every worker).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { PROJECT_ROOT } from '../../shared/profiles/paths.ts';

const run = async (how: 'koa' | 'ours') => {
  const { stdout } = await promisify(execFile)(process.execPath, [path.join(PROJECT_ROOT, 'test', 'fixtures', 'json-answer.ts'), how], { timeout: 30_000 });
  return JSON.parse(stdout) as { answers: unknown[]; fetchLoaded: boolean };
};

test("a JSON answer is Koa's own, byte for byte, and does not load Node's fetch", async () => {
  const [koa, ours] = await Promise.all([run('koa'), run('ours')]);
  assert.deepEqual(ours.answers, koa.answers, 'the same status, type, length and body as Koa gives');
  assert.equal(koa.fetchLoaded, true, "Koa's own way loads Node's fetch (what this guards against is real)");
  assert.equal(ours.fetchLoaded, false, "answering JSON loaded Node's fetch");
});
