import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createLogger } from '../../shared/runtime/logger.ts';

function capture() {
  const raw: string[] = [];
  const log = createLogger({
    destination: {
      write(s: string) {
        raw.push(s);
      },
    },
  });
  return { log, raw, last: () => JSON.parse(raw.at(-1)!) };
}

const SECRETS = {
  mis_password: 'S3cret-mis',
  blaze_password: 'S3cret-blaze',
  client_secret: 'S3cret-client',
  token: 'S3cret-token',
  refresh_token: 'S3cret-refresh',
  access_token: 'S3cret-access',
  authorization: 'Bearer S3cret-bearer',
} as const;

test('secret keys are redacted at the top level', () => {
  const { log, raw, last } = capture();
  log.info({ ...SECRETS, mis_username: 'nick' }, 'saving');
  const line = last();
  for (const key of Object.keys(SECRETS)) assert.equal(line[key], '[redacted]', key);
  assert.equal(line.mis_username, 'nick');
  for (const value of Object.values(SECRETS)) assert.ok(!raw.join('').includes(value), value);
});

test('secret keys are redacted one, two and three levels down', () => {
  const { log, raw, last } = capture();
  log.info({ config: { ...SECRETS }, a: { b: { ...SECRETS } }, x: { y: { z: { ...SECRETS } } } }, 'nested');
  const line = last();
  for (const key of Object.keys(SECRETS)) {
    assert.equal(line.config[key], '[redacted]', `config.${key}`);
    assert.equal(line.a.b[key], '[redacted]', `a.b.${key}`);
    assert.equal(line.x.y.z[key], '[redacted]', `x.y.z.${key}`);
  }
  for (const value of Object.values(SECRETS)) assert.ok(!raw.join('').includes(value), value);
});

test('the authorization header of a logged request is redacted', () => {
  const { log, raw, last } = capture();
  log.info({ req: { method: 'POST', url: '/api/x', headers: { authorization: 'Bearer S3cret-bearer', cookie: 'sid=S3cret-cookie', host: 'localhost' } } }, 'request');
  const line = last();
  assert.equal(line.req.headers.authorization, '[redacted]');
  assert.equal(line.req.headers.cookie, '[redacted]');
  assert.equal(line.req.headers.host, 'localhost');
  assert.ok(!raw.join('').includes('S3cret'));
});

test('a child logger redacts too', () => {
  const { log, raw } = capture();
  log.child({ profile: 'nick.tat' }).warn({ token: { access_token: 'S3cret-a', refresh_token: 'S3cret-r' } }, 'refresh');
  assert.ok(!raw.join('').includes('S3cret'));
});

test('redaction does not change the logged object', () => {
  const { log } = capture();
  const value = { mis_password: 'keep', nested: { token: 'keep' } };
  log.info(value, 'x');
  assert.deepEqual(value, { mis_password: 'keep', nested: { token: 'keep' } });
});

test('an error is logged under err with its type, code, message and stack only: never its other properties', () => {
  const { log, raw, last } = capture();
  // What a Google client error carries: the request it made, with the token in a header and the body.
  const error = Object.assign(new Error('invalid_grant'), {
    code: 'E_GOOGLE',
    config: { headers: { 'x-goog-token': 'S3cret-header' }, data: 'refresh_token=S3cret-body&client_secret=S3cret-client' },
  });
  log.warn({ err: error }, 'token refresh failed');
  const line = last();
  assert.deepEqual(Object.keys(line.err).sort(), ['code', 'message', 'stack', 'type']);
  assert.equal(line.err.type, 'Error');
  assert.equal(line.err.code, 'E_GOOGLE');
  assert.equal(line.err.message, 'invalid_grant');
  assert.match(line.err.stack, /invalid_grant/);
  assert.ok(!raw.join('').includes('S3cret'), raw.join(''));
});
