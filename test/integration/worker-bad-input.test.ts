// Input a worker must refuse, with a real status and a stable error code, without touching the config dir.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { makeConfigDir, type TestConfigDir } from '../helpers/config-dir.ts';
import { request, type Reply } from '../helpers/http.ts';
import { startWorker, type RunningWorker } from '../helpers/worker.ts';

/** The rejected handles of test/unit/handle.test.ts, as JSON values. */
const BAD_HANDLES: unknown[] = ['', 'a b', '../x', 'x/y', '..', '.hidden', 'under_score', 'a'.repeat(65), 'nïck', '%2e%2e', 'a..b', 5, null, true, ['nick.tat'], { h: 1 }];
/** Those that can be a URL path segment (empty cannot: `/check-credentials/` is another route). */
const BAD_URL_HANDLES = BAD_HANDLES.filter((h): h is string => typeof h === 'string' && h !== '');

/** A request sent byte for byte as given: fetch would resolve `..` segments and re-encode the path. */
function raw(port: number, method: string, path: string, body?: string, headers: Record<string, string> = {}): Promise<Reply> {
  return request(port, method, path, { body, headers });
}

function assertError(res: Reply, status: number, code: string) {
  assert.equal(res.status, status, JSON.stringify(res.body));
  assert.equal(typeof res.body, 'object', String(res.body));
  assert.equal(res.body.success, false);
  assert.equal(res.body.error, code);
  assert.equal(typeof res.body.message, 'string');
  assert.ok(res.body.message.length > 0);
}

let config: TestConfigDir;
let worker: RunningWorker;
let snapshot: Map<string, string>;

before(async () => {
  config = await makeConfigDir({ profiles: ['nick.tat', 'store-la'] });
  await config.writeJson('blaze_configs/blaze_config_nick.tat.json', { mis_username: 'nick' });
  await config.writeJson('last_profile.json', { last_profile: 'nick.tat' });
  worker = await startWorker(config.dir, { BLAZE_PROFILE: 'nick.tat' });
  snapshot = await config.snapshot();
});
after(async () => {
  await worker?.kill();
  await config?.remove();
});

test('malformed JSON → 400 invalid_json', async () => {
  for (const path of ['/api/profile/register', '/api/profile/switch', '/api/profile/delete', '/api/save-profile-credentials']) {
    for (const text of ['{"handle": "nick.tat"', '{handle: "x"}', "{'handle':'x'}", '', 'nick.tat']) {
      assertError(await worker.post(path, text), 400, 'invalid_json');
    }
  }
});

test('a form-urlencoded body → 415', async () => {
  for (const path of ['/api/profile/register', '/api/profile/switch', '/api/profile/delete', '/api/save-profile-credentials']) {
    const res = await worker.post(path, 'handle=nick.tat', { 'content-type': 'application/x-www-form-urlencoded' });
    assertError(res, 415, 'unsupported_media_type');
  }
  assertError(await worker.post('/api/profile/register', '{"handle":"x"}', { 'content-type': 'text/plain' }), 415, 'unsupported_media_type');
  assertError(await raw(worker.port, 'POST', '/api/profile/register', '{"handle":"x"}'), 415, 'unsupported_media_type');
});

test('wrong field types in save-profile-credentials → 400 invalid_body naming the field', async () => {
  for (const [field, value] of [
    ['mis_username', 5],
    ['mis_password', { p: 1 }],
    ['blaze_api_url', 'javascript:alert(1)'],
    ['mis_url', ['https://x']],
    ['blaze_email', null],
  ] as const) {
    const res = await worker.post('/api/save-profile-credentials', { [field]: value });
    assertError(res, 400, 'invalid_body');
    assert.ok(res.body.message.includes(field), res.body.message);
    assert.ok(Array.isArray(res.body.issues) && res.body.issues.some((i: any) => i.path === field), JSON.stringify(res.body.issues));
  }
  for (const body of [[], 'text', 5, null]) {
    assertError(await worker.post('/api/save-profile-credentials', JSON.stringify(body)), 400, 'invalid_body');
  }
});

test('an unknown field in save-profile-credentials → 400 invalid_body naming it', async () => {
  const res = await worker.post('/api/save-profile-credentials', { mis_username: 'x', mis_pasword: 'typo' });
  assertError(res, 400, 'invalid_body');
  assert.ok(res.body.message.includes('mis_pasword'), res.body.message);
});

test('control characters and over-long values in save-profile-credentials → 400 invalid_body', async () => {
  assertError(await worker.post('/api/save-profile-credentials', { mis_username: 'a\r\nb' }), 400, 'invalid_body');
  assertError(await worker.post('/api/save-profile-credentials', { mis_password: 'p'.repeat(2000) }), 400, 'invalid_body');
});

test('a body over 1 MiB → 413 payload_too_large (declared length and chunked)', async () => {
  const big = JSON.stringify({ mis_username: 'x'.repeat(1024 * 1024) });
  const declared = await raw(worker.port, 'POST', '/api/save-profile-credentials', big, {
    'content-type': 'application/json',
    'content-length': String(Buffer.byteLength(big)),
  });
  assertError(declared, 413, 'payload_too_large');
  const chunked = await raw(worker.port, 'POST', '/api/profile/register', big, {
    'content-type': 'application/json',
    'transfer-encoding': 'chunked',
  });
  assertError(chunked, 413, 'payload_too_large');
});

for (const route of ['/api/profile/register', '/api/profile/switch', '/api/profile/delete']) {
  test(`every rejected handle sent to ${route} → 400 invalid_handle`, async () => {
    for (const handle of BAD_HANDLES) {
      const res = await worker.post(route, { handle });
      assertError(res, 400, 'invalid_handle');
      assert.ok(!JSON.stringify(res.body).includes('/tmp/'), 'no absolute path in the answer');
    }
    // no handle at all is a missing handle; no object at all is a wrong body
    const missing = await worker.post(route, {});
    assertError(missing, 400, 'invalid_handle');
    assert.match(missing.body.message, /handle/);
    for (const body of [[], '"nick.tat"', 'null']) {
      assertError(await worker.post(route, typeof body === 'string' ? body : JSON.stringify(body)), 400, 'invalid_body');
    }
  });
}

test('every rejected handle sent to check-credentials/:handle → 400 invalid_handle', async () => {
  for (const handle of BAD_URL_HANDLES) {
    // `..` goes out literally (fetch would have resolved it away), everything else percent-encoded
    const segment = handle === '..' ? '..' : encodeURIComponent(handle);
    const res = await raw(worker.port, 'GET', `/api/profile/check-credentials/${segment}`);
    assertError(res, 400, 'invalid_handle');
  }
  // an encoded slash and encoded dots cannot smuggle a path through the router
  assertError(await raw(worker.port, 'GET', '/api/profile/check-credentials/..%2F..%2Fetc'), 400, 'invalid_handle');
  assertError(await raw(worker.port, 'GET', '/api/profile/check-credentials/%2e%2e'), 400, 'invalid_handle');
});

test('unknown route → 404 not_found; wrong method → 405', async () => {
  assertError(await worker.get('/api/no-such-thing'), 404, 'not_found');
  assertError(await worker.post('/api/no-such-thing', {}), 404, 'not_found');
  assertError(await worker.get('/p/nick.tat/api/profile/current'), 404, 'not_found');
  assertError(await worker.get('/api/profile/register'), 405, 'method_not_allowed');
});

test('a cross-site POST → 403 forbidden', async () => {
  const headersList: Record<string, string>[] = [
    { origin: 'http://evil.example' },
    { origin: 'null' },
    { 'sec-fetch-site': 'cross-site' },
    { origin: `http://127.0.0.1:${worker.port}.evil.example` },
  ];
  for (const headers of headersList) {
    for (const [path, body] of [
      ['/api/profile/switch', { handle: 'store-la' }],
      ['/api/profile/delete', { handle: 'store-la' }],
      ['/api/profile/register', { handle: 'evil' }],
      ['/api/save-profile-credentials', { mis_username: 'evil' }],
    ] as const) {
      assertError(await worker.post(path, body, headers), 403, 'forbidden');
    }
  }
  // the worker's own origin is fine (the settings page posts with it)
  // (an invalid body, so that passing the guard shows as 400 and nothing is written)
  const own = await worker.post('/api/save-profile-credentials', { not_a_field: 1 }, { origin: worker.url, 'sec-fetch-site': 'same-origin' });
  assertError(own, 400, 'invalid_body');
});

test('the config dir is byte for byte unchanged after all of the above', async () => {
  assert.deepEqual(await config.snapshot(), snapshot);
});
