// The audit line of a change someone made: who, what, and the status it ended with, also when it threw.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Context } from 'koa';
import { ApiError } from '../../shared/http/api-error.ts';
import { audited } from '../../shared/http/audit.ts';
import { createLogger } from '../../shared/runtime/logger.ts';

function run(next: (ctx: { status: number }) => Promise<void>) {
  const lines: any[] = [];
  const log = createLogger({ level: 'info', destination: { write: (s: string) => void lines.push(JSON.parse(s)) } });
  const ctx = { method: 'POST', path: '/api/save-profile-credentials', status: 404 } as unknown as Context;
  return { lines, done: audited(ctx, () => next(ctx as unknown as { status: number }), log, { user: 'lisa', profile: 'a' }) };
}

test('the status it ended with, once, with who', async () => {
  const { lines, done } = run(async (ctx) => {
    ctx.status = 201;
  });
  await done;
  assert.equal(lines.length, 1);
  assert.deepEqual({ ...lines[0], time: undefined, pid: undefined, hostname: undefined }, { level: 30, time: undefined, pid: undefined, hostname: undefined, audit: true, user: 'lisa', profile: 'a', method: 'POST', path: '/api/save-profile-credentials', status: 201, msg: 'request' });
});

test('a refusal thrown further in: its status; a bug: 500; the error goes on', async () => {
  const refused = run(async () => {
    throw new ApiError(409, 'corrupt_file', 'damaged');
  });
  await assert.rejects(refused.done, /damaged/);
  assert.equal(refused.lines[0].status, 409);
  const bug = run(async () => {
    throw new Error('boom');
  });
  await assert.rejects(bug.done, /boom/);
  assert.equal(bug.lines[0].status, 500);
});
