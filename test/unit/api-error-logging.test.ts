// How a failed request is logged: an ApiError (an expected, explained failure: the MIS unreachable, Chrome
// missing, an automation timing out) is a warning with its code and message and no stack; anything else is
// a bug, logged as an error with its stack. Below 500 nothing is logged.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { once } from 'node:events';
import Koa from 'koa';
import { ApiError, errorMiddleware } from '../../shared/http/api-error.ts';
import { createLogger } from '../../shared/runtime/logger.ts';
import { request } from '../helpers/http.ts';

const WARN = 40;
const ERROR = 50;

async function appThrowing(error: unknown) {
  const raw: string[] = [];
  const log = createLogger({ level: 'trace', destination: { write: (s: string) => void raw.push(s) } });
  const app = new Koa();
  app.silent = true;
  app.use(errorMiddleware(log));
  app.use(() => {
    throw error;
  });
  const server = http.createServer(app.callback()).listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  try {
    const res = await request(port, 'POST', '/api/init-all');
    return { status: res.status, body: JSON.parse(res.text) as Record<string, unknown>, raw, lines: raw.map((l) => JSON.parse(l)) };
  } finally {
    server.close();
  }
}

test('an ApiError of 500 or more (the MIS unreachable) is a warning with code, status, path and message, no stack', async () => {
  const message = 'the MIS at http://127.0.0.1:9/ could not be opened (net::ERR_CONNECTION_REFUSED)';
  const r = await appThrowing(new ApiError(502, 'mis_login_failed', message));
  assert.equal(r.status, 502);
  assert.equal(r.body.error, 'mis_login_failed');
  assert.equal(r.lines.length, 1, r.raw.join(''));
  const line = r.lines[0];
  assert.equal(line.level, WARN);
  assert.equal(line.msg, message);
  assert.equal(line.error, 'mis_login_failed');
  assert.equal(line.status, 502);
  assert.equal(line.path, '/api/init-all');
  assert.equal(line.err, undefined);
  assert.ok(!r.raw.join('').includes('stack'), r.raw.join(''));
  assert.ok(!/\n\s+at /.test(r.raw.join('')), 'no stack frames');
});

test('other expected failures are warnings too: 503 browser unavailable, 504 automation timeout', async () => {
  for (const [status, code] of [[503, 'browser_unavailable'], [504, 'automation_timeout'], [503, 'session_unavailable']] as const) {
    const r = await appThrowing(new ApiError(status, code, `${code} happened`));
    assert.equal(r.status, status);
    assert.deepEqual(r.lines.map((l) => [l.level, l.error, l.msg]), [[WARN, code, `${code} happened`]]);
    assert.ok(!r.raw.join('').includes('stack'));
  }
});

test('a thrown plain Error is a bug: an error line with its stack, and a 500 without details', async () => {
  const r = await appThrowing(new TypeError("Cannot read properties of undefined (reading 'x')"));
  assert.equal(r.status, 500);
  assert.equal(r.body.error, 'internal_error');
  assert.ok(!JSON.stringify(r.body).includes('reading'), 'no detail in the answer');
  assert.equal(r.lines.length, 1);
  const line = r.lines[0];
  assert.equal(line.level, ERROR);
  assert.equal(line.msg, 'request failed');
  assert.equal(line.path, '/api/init-all');
  assert.equal(line.err.type, 'TypeError');
  assert.match(line.err.stack, /TypeError: Cannot read properties/);
  assert.match(line.err.stack, /\n\s+at /);
});

test('an ApiError below 500 is not logged', async () => {
  const r = await appThrowing(new ApiError(409, 'invalid_state', 'log in first'));
  assert.equal(r.status, 409);
  assert.deepEqual(r.lines, []);
});
