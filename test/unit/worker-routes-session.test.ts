// The worker's session routes (worker/web/routes/session.ts), in this process: the pages' values kept, read,
// listed, deleted and cleared; the keys they may use; the bodies they may send — and the work a restart
// brings back (`session.work`, worker/session/session-manager.ts) that none of it reaches, a clear included.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { makeConfigDir } from '../helpers/config-dir.ts';
import { inProcessWorker, serve, type InProcessWorker, type Served } from '../helpers/in-process.ts';

async function setup(t: TestContext): Promise<{ worker: InProcessWorker; http: Served }> {
  const config = await makeConfigDir({ profiles: ['a'] });
  const worker = await inProcessWorker(config.dir, 'a');
  const http = await serve(worker.app);
  t.after(async () => {
    await http.close();
    await worker.deps.session.close();
    await config.remove();
  });
  return { worker, http };
}

test('PUT, GET, list and DELETE a session value', async (t) => {
  const { http } = await setup(t);
  const empty = await http.request('GET', '/api/session');
  assert.equal(empty.status, 200);
  assert.deepEqual(empty.json, { success: true, backend: 'memory', keys: [], values: {} });

  const value = { filter: 'store-la', rows: [1, 2, 3], nested: { ok: true, none: null } };
  const put = await http.request('PUT', '/api/session/page.filter-1_x', { json: { value } });
  assert.equal(put.status, 200, put.text);
  assert.deepEqual(put.json, { success: true, key: 'page.filter-1_x', saved: true });
  await http.request('PUT', '/api/session/another', { json: { value: 'text' } });

  const got = await http.request('GET', '/api/session/page.filter-1_x');
  assert.equal(got.status, 200);
  assert.deepEqual(got.json, { success: true, key: 'page.filter-1_x', value });
  const list = await http.request('GET', '/api/session');
  assert.deepEqual(list.json.keys, ['another', 'page.filter-1_x']);
  assert.deepEqual(list.json.values, { another: 'text', 'page.filter-1_x': value });

  // overwritten, then deleted (twice: the second finds nothing)
  await http.request('PUT', '/api/session/another', { json: { value: 0 } });
  assert.deepEqual((await http.request('GET', '/api/session/another')).json.value, 0);
  const deleted = await http.request('DELETE', '/api/session/another');
  assert.equal(deleted.status, 200);
  assert.deepEqual(deleted.json, { success: true, key: 'another', deleted: true });
  assert.deepEqual((await http.request('DELETE', '/api/session/another')).json, { success: true, key: 'another', deleted: false });

  const missing = await http.request('GET', '/api/session/another');
  assert.equal(missing.status, 404);
  assert.equal(missing.json.error, 'not_found');
});

test('DELETE /api/session clears the pages\' values and leaves the remembered work alone', async (t) => {
  const { worker, http } = await setup(t);
  const { session } = worker.deps;
  await session.work.set('csv', { file: 'MIS_CSV_UPLOAD_1.csv', source: 'upload' });
  await session.work.set('spreadsheet', { spreadsheet_id: 'abcdefghij12', title: 'T', tabs: [] });
  for (const key of ['one', 'two', 'three']) await http.request('PUT', `/api/session/${key}`, { json: { value: key } });

  const listed = await http.request('GET', '/api/session');
  assert.deepEqual(listed.json.keys, ['one', 'three', 'two'], 'the work is not among the pages\' values');

  const cleared = await http.request('DELETE', '/api/session');
  assert.equal(cleared.status, 200);
  assert.deepEqual(cleared.json, { success: true, cleared: 3 });
  assert.deepEqual((await http.request('GET', '/api/session')).json.keys, []);
  assert.deepEqual(await session.work.get('csv'), { file: 'MIS_CSV_UPLOAD_1.csv', source: 'upload' }, 'the remembered CSV survives the clear');
  assert.deepEqual((await session.work.keys()).sort(), ['csv', 'spreadsheet']);

  // nor can a key of the work be named through the routes
  for (const method of ['GET', 'PUT', 'DELETE']) {
    const reply = await http.request(method, '/api/session/~work.csv', method === 'PUT' ? { json: { value: 'overwritten' } } : {});
    assert.equal(reply.status, 400, method);
    assert.equal(reply.json.error, 'invalid_body', method);
  }
  assert.deepEqual(await session.work.get('csv'), { file: 'MIS_CSV_UPLOAD_1.csv', source: 'upload' });
  assert.deepEqual((await http.request('DELETE', '/api/session')).json, { success: true, cleared: 0 }, 'a second clear clears nothing');
});

test('session keys: letters, digits, dots, dashes and underscores, 1–128 of them', async (t) => {
  const { http } = await setup(t);
  for (const key of ['a%20b', 'a%2Fb', '%C3%A9t%C3%A9', 'x'.repeat(129), 'a:b', '%00']) {
    for (const method of ['GET', 'PUT', 'DELETE']) {
      const reply = await http.request(method, `/api/session/${key}`, method === 'PUT' ? { json: { value: 1 } } : {});
      assert.equal(reply.status, 400, `${method} ${key}`);
      assert.equal(reply.json.error, 'invalid_body', `${method} ${key}`);
    }
  }
  const longest = 'k'.repeat(128);
  assert.equal((await http.request('PUT', `/api/session/${longest}`, { json: { value: 1 } })).status, 200);
  assert.deepEqual((await http.request('GET', '/api/session')).json.keys, [longest]);
});

test('PUT /api/session/:key takes {"value": JSON} only, of at most 256 KiB', async (t) => {
  const { http } = await setup(t);
  const cases: [string, { headers?: Record<string, string>; body?: string; json?: unknown }, number, string][] = [
    ['no value', { json: { other: 1 } }, 400, 'invalid_body'],
    ['not an object', { json: [1, 2] }, 400, 'invalid_body'],
    ['malformed', { headers: { 'content-type': 'application/json' }, body: '{"value": ' }, 400, 'invalid_json'],
    ['duplicate key', { headers: { 'content-type': 'application/json' }, body: '{"value":1,"value":2}' }, 400, 'invalid_json'],
    ['no content type', { body: '{"value":1}' }, 415, 'unsupported_media_type'],
    ['text', { headers: { 'content-type': 'text/plain' }, body: '{"value":1}' }, 415, 'unsupported_media_type'],
    ['CSV', { headers: { 'content-type': 'text/csv' }, body: 'a,b' }, 415, 'unsupported_media_type'],
    ['over 256 KiB', { json: { value: 'x'.repeat(256 * 1024) } }, 413, 'payload_too_large'],
  ];
  for (const [what, options, status, code] of cases) {
    const reply = await http.request('PUT', '/api/session/k', options);
    assert.equal(reply.status, status, `${what}: ${reply.text.slice(0, 200)}`);
    assert.equal(reply.json.error, code, what);
  }
  assert.deepEqual((await http.request('GET', '/api/session')).json.keys, [], 'nothing refused was kept');
  // just under the limit is fine
  const fits = await http.request('PUT', '/api/session/k', { json: { value: 'x'.repeat(255 * 1024) } });
  assert.equal(fits.status, 200);
});

test('at most 1000 keys: a new one beyond is 409 invalid_state, an existing one may still change', async (t) => {
  const { worker, http } = await setup(t);
  await Promise.all(Array.from({ length: 1000 }, (_, i) => worker.deps.session.values.set(`k${i}`, i)));
  await worker.deps.session.work.set('csv', { file: 'x.csv' }); // the work's keys do not count
  const full = await http.request('PUT', '/api/session/one-more', { json: { value: 1 } });
  assert.equal(full.status, 409);
  assert.equal(full.json.error, 'invalid_state');
  const existing = await http.request('PUT', '/api/session/k7', { json: { value: 'changed' } });
  assert.equal(existing.status, 200);
  assert.equal((await http.request('GET', '/api/session/k7')).json.value, 'changed');
});

test('the session is only for whoever may use the profile: another person gets 403, the worker\'s own port 401', async (t) => {
  const config = await makeConfigDir({ profiles: ['a'] });
  const guarded = await inProcessWorker(config.dir, 'a', { AUTH: 'local' }, 'secret-x');
  const http = await serve(guarded.app);
  t.after(async () => {
    await http.close();
    await config.remove();
  });
  await guarded.deps.session.values.set('note', 'private');
  const stranger = await http.request('GET', '/api/session', { headers: { 'x-tat-internal': 'secret-x', 'x-tat-user': 'nick', 'x-tat-grants': 'b' } });
  assert.equal(stranger.status, 403);
  assert.equal(stranger.json.error, 'forbidden');
  assert.ok(!stranger.text.includes('private'));
  const direct = await http.request('DELETE', '/api/session');
  assert.equal(direct.status, 401, 'with sign-in on, the worker\'s own port needs an admin\'s token');
  assert.equal(direct.json.error, 'unauthorized');
  assert.equal(await guarded.deps.session.values.get('note'), 'private');
  const owner = await http.request('GET', '/api/session', { headers: { 'x-tat-internal': 'secret-x', 'x-tat-user': 'lisa', 'x-tat-grants': 'a' } });
  assert.equal(owner.status, 200);
  assert.deepEqual(owner.json.values, { note: 'private' });
});
