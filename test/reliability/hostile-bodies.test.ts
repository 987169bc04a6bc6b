// Hostile bodies through the supervisor: malformed JSON, wrong content types, deeply nested JSON,
// 100 MiB bodies (refused early with 413 while the memory of the supervisor and the worker stays put), and
// every string field with control characters and 10 KiB values. Never a 5xx; nothing refused reaches the disk.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { makeConfigDir } from '../helpers/config-dir.ts';
import { startSupervisor } from '../helpers/supervisor.ts';
import { Evidence } from '../helpers/evidence.ts';
import { blazeConfigWithSecrets } from '../helpers/secrets.ts';
import { client, type Reply } from '../helpers/http.ts';
import { diffTrees, snapshotTree } from '../helpers/file-trees.ts';
import { jsonOf, rawExchange } from '../helpers/raw-http.ts';
import { rssOf } from '../helpers/process-measures.ts';

const MiB = 1024 * 1024;

/** Every route that reads a JSON body, with a body it would accept. */
const JSON_ROUTES: { method: string; path: string; valid: Record<string, unknown> }[] = [
  { method: 'POST', path: '/p/a/api/save-profile-credentials', valid: { mis_username: 'a@mis.example' } },
  { method: 'POST', path: '/p/a/api/profile/register', valid: { handle: 'c' } },
  { method: 'POST', path: '/api/profile/switch', valid: { handle: 'a' } },
  { method: 'POST', path: '/p/b/api/profile/delete', valid: { handle: 'zz' } },
  { method: 'POST', path: '/p/a/api/mis/load-sheet', valid: { spreadsheet_id: 'x' } },
  { method: 'PUT', path: '/p/a/api/session/k', valid: { value: 1 } },
  { method: 'POST', path: '/supervisor/api/current', valid: { handle: 'a' } },
];

const CONTROL_VALUES = ['a\u0000b', 'line\r\nSet-Cookie: evil=1', '\u001b[31mred\u001b[0m', 'tab\there', 'del\u007f', 'x'.repeat(10 * 1024), `${'y'.repeat(10 * 1024)}\u0000`];
const STRING_FIELDS = ['mis_username', 'mis_password', 'blaze_email', 'blaze_password', 'blaze_api_url', 'google_sheet_url', 'mis_url'];

test('hostile bodies: clear 4xx, never a 5xx, nothing refused written, memory bounded', async (t) => {
  const ev = new Evidence();
  const config = await makeConfigDir({ profiles: ['a', 'b'] });
  await config.addCredentials('c');
  await config.writeJson('blaze_configs/blaze_config_b.json', blazeConfigWithSecrets('b@mis.example'));
  await config.writeJson('last_profile.json', { last_profile: 'a' });
  const sup = await startSupervisor({ config, profiles: ['a', 'b'] });
  ev.watch('supervisor output', () => sup.proc.output());
  t.after(async () => {
    await sup.cleanup();
    await config.remove();
  });
  const api = client(sup.port, { record: ev });
  const replies: { what: string; reply: Reply }[] = [];
  const call = async (what: string, method: string, target: string, body: unknown, headers: Record<string, string> = {}) => {
    const reply = await api.send(method, target, { body, headers });
    replies.push({ what, reply });
    return reply;
  };
  const expectError = (reply: Reply, status: number | number[], code: string | string[], what: string) => {
    const statuses = Array.isArray(status) ? status : [status];
    const codes = Array.isArray(code) ? code : [code];
    assert.ok(statuses.includes(reply.status), `${what}: ${reply.status} ${reply.text.slice(0, 300)}`);
    assert.equal(reply.body.success, false, what);
    assert.ok(codes.includes(reply.body.error), `${what}: error ${reply.body.error}`);
    assert.ok(typeof reply.body.message === 'string' && reply.body.message.length > 10, `${what}: a sentence`);
  };
  const before = snapshotTree(config.dir);

  // ——— malformed JSON and wrong content types, on every JSON route ———
  const malformed = ['{"handle": ', '{handle: "a"}', "{'handle': 'a'}", '{"handle":"a"}garbage', '', '{"a":1,}', 'NaN', '{"handle":"a"', '\u0000'];
  const notObjects = ['null', '"a"', '[]', '42', 'true'];
  const types = ['text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'application/xml', 'text/html', 'application/javascript'];
  for (const route of JSON_ROUTES) {
    for (const text of malformed) {
      expectError(await call(`${route.path} malformed ${JSON.stringify(text)}`, route.method, route.path, text, { 'content-type': 'application/json' }), 400, ['invalid_json', 'invalid_body'], `${route.path} ${JSON.stringify(text)}`);
    }
    for (const text of notObjects) {
      expectError(await call(`${route.path} ${text}`, route.method, route.path, text, { 'content-type': 'application/json' }), 400, 'invalid_body', `${route.path} ${text}`);
    }
    for (const type of types) {
      expectError(await call(`${route.path} as ${type}`, route.method, route.path, JSON.stringify(route.valid), { 'content-type': type }), 415, 'unsupported_media_type', `${route.path} as ${type}`);
    }
    expectError(await call(`${route.path} without a type`, route.method, route.path, JSON.stringify(route.valid), {}), 415, 'unsupported_media_type', `${route.path} without a content type`);
    // deeply nested: refused before it is parsed
    for (const deep of ['['.repeat(100_000) + ']'.repeat(100_000), '{"a":'.repeat(50_000) + '1' + '}'.repeat(50_000), `{"value": ${'['.repeat(65)}${']'.repeat(65)}}`]) {
      expectError(await call(`${route.path} deep`, route.method, route.path, deep, { 'content-type': 'application/json' }), [400, 413], ['invalid_body', 'payload_too_large'], `${route.path} nested`);
    }
  }
  // a CSV upload that is not one
  for (const type of ['application/json', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'image/png']) {
    expectError(await call(`upload as ${type}`, 'POST', '/p/a/api/mis/upload-csv', 'a,b\n1,2\n', { 'content-type': type }), 415, 'unsupported_media_type', `upload as ${type}`);
  }

  // ——— control characters and 10 KiB values in every string field ———
  for (const field of STRING_FIELDS) {
    for (const value of CONTROL_VALUES) {
      const r = await call(`${field}=${JSON.stringify(value.slice(0, 20))}`, 'POST', '/p/a/api/save-profile-credentials', { [field]: value });
      expectError(r, 400, 'invalid_body', `${field} = ${JSON.stringify(value.slice(0, 30))}`);
      assert.ok(r.body.issues.some((i: { path: string }) => i.path === field), `${field}: the issue names the field`);
    }
  }
  for (const [method, target] of [
    ['POST', '/p/a/api/profile/register'],
    ['POST', '/api/profile/switch'],
    ['POST', '/p/b/api/profile/delete'],
    ['POST', '/supervisor/api/current'],
  ] as const) {
    for (const value of [...CONTROL_VALUES, 'c\u0000', 'c\nc', 'c\u0085', 'ｃ', 'c'.repeat(10 * 1024)]) {
      expectError(await call(`${target} handle ${JSON.stringify(value.slice(0, 20))}`, method, target, { handle: value }), 400, 'invalid_handle', `${target} handle ${JSON.stringify(value.slice(0, 30))}`);
    }
  }
  for (const value of CONTROL_VALUES) {
    const r = await call('load-sheet', 'POST', '/p/a/api/mis/load-sheet', { spreadsheet_id: value });
    assert.ok(r.status >= 400 && r.status < 500, `load-sheet ${JSON.stringify(value.slice(0, 20))}: ${r.status}`);
    const q = await call('sheets values', 'GET', `/p/a/api/sheets/values?tab=${encodeURIComponent(value)}&range=${encodeURIComponent(value)}`, undefined);
    assert.ok(q.status >= 400 && q.status < 500, `sheets tab ${JSON.stringify(value.slice(0, 20))}: ${q.status}`);
    const k = await call('session key', 'GET', `/p/a/api/session/${encodeURIComponent(value)}`, undefined);
    assert.ok(k.status >= 400 && k.status < 500, `session key: ${k.status}`);
  }
  // nothing of the above reached the disk
  assert.deepEqual(diffTrees(before, snapshotTree(config.dir)), [], 'a refused request changed the config dir');
  // session values are opaque JSON: control characters and 10 KiB strings are stored and come back exactly
  for (const [i, value] of CONTROL_VALUES.entries()) {
    assert.equal((await call('session put', 'PUT', `/p/a/api/session/ctl${i}`, { value })).status, 200);
    const back = await call('session get', 'GET', `/p/a/api/session/ctl${i}`, undefined);
    assert.equal(back.body.value, value);
    for (const name of Object.keys(back.headers)) assert.ok(!/evil/i.test(String(back.headers[name])), 'a stored value became a header');
  }
  assert.equal((await call('session clear', 'DELETE', '/p/a/api/session', undefined)).status, 200);

  // ——— 100 MiB bodies: refused early with 413, memory bounded ———
  const block = Buffer.alloc(MiB, 0x61);
  const hundred = Array.from({ length: 100 }, () => block);
  const supPid = sup.proc.pid;
  const workerPid = (await sup.worker('a'))!.pid!;
  // `early`: what the client may have handed to its socket before the answer shows; up to four loopback socket
  // buffers (several MiB each) lie between it and the worker
  const big = [
    { what: 'JSON with Content-Length', target: '/p/a/api/save-profile-credentials', type: 'application/json', chunked: false, early: 32 * MiB },
    { what: 'JSON, chunked', target: '/p/a/api/save-profile-credentials', type: 'application/json', chunked: true, early: 48 * MiB },
    { what: 'JSON via /api, Content-Length', target: '/api/profile/register', type: 'application/json', chunked: false, early: 32 * MiB },
    { what: 'CSV with Content-Length', target: '/p/a/api/mis/upload-csv', type: 'text/csv', chunked: false, early: 32 * MiB },
    { what: 'CSV, chunked', target: '/p/a/api/mis/upload-csv', type: 'text/csv', chunked: true, early: 64 * MiB },
    { what: 'supervisor API with Content-Length', target: '/supervisor/api/current', type: 'application/json', chunked: false, early: 32 * MiB },
    { what: 'supervisor API, chunked', target: '/supervisor/api/current', type: 'application/json', chunked: true, early: 48 * MiB },
  ];
  const rss0 = { sup: rssOf(supPid)!, worker: rssOf(workerPid)! };
  let peak = { sup: 0, worker: 0 };
  let sampling = true;
  t.after(() => {
    sampling = false;
  });
  const sampler = (async () => {
    while (sampling) {
      peak = { sup: Math.max(peak.sup, rssOf(supPid) ?? 0), worker: Math.max(peak.worker, rssOf(workerPid) ?? 0) };
      await sleep(25);
    }
  })();
  for (const b of big) {
    // keep-alive, as HTTP/1.1 clients send by default. (With `Connection: close` the server closes right after
    // its answer while the body is still coming in; Node's HTTP server has no lingering close, so the reset
    // that follows can make the client's kernel drop the 413 before the client reads it.)
    const head = `POST ${b.target} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: ${b.type}\r\n${b.chunked ? 'Transfer-Encoding: chunked' : `Content-Length: ${100 * MiB}`}\r\n\r\n`;
    const parts = b.chunked ? [head, ...hundred.flatMap((c) => [`${c.length.toString(16)}\r\n`, c, '\r\n']), '0\r\n\r\n'] : [head, ...hundred];
    const r = await rawExchange(sup.port, parts, { record: ev, what: `100 MiB ${b.what}`, timeoutMs: 30_000 });
    assert.equal(r.status, 413, `${b.what}: ${r.status ?? r.error} ${r.raw.slice(0, 300)}`);
    assert.equal(jsonOf(r)?.error, 'payload_too_large', b.what);
    t.diagnostic(`100 MiB ${b.what}: 413 after ${(r.sent / MiB).toFixed(1)} MiB sent, ${Math.round(r.answeredAfterMs ?? -1)} ms`);
    assert.ok(r.sent < b.early, `${b.what}: answered only after ${(r.sent / MiB).toFixed(1)} MiB of 100 were sent`);
  }
  sampling = false;
  await sampler;
  const growth = { sup: peak.sup - rss0.sup, worker: peak.worker - rss0.worker };
  assert.ok(growth.sup < 40 * MiB, `the supervisor's RSS grew by ${(growth.sup / MiB).toFixed(1)} MiB`);
  assert.ok(growth.worker < 40 * MiB, `the worker's RSS grew by ${(growth.worker / MiB).toFixed(1)} MiB`);
  t.diagnostic(`RSS growth during the 100 MiB bodies: supervisor ${(growth.sup / MiB).toFixed(1)} MiB, worker ${(growth.worker / MiB).toFixed(1)} MiB`);

  // ——— afterwards: no 5xx anywhere, nothing written, both workers the same processes and serving ———
  const fives = replies.filter((r) => r.reply.status >= 500);
  assert.deepEqual(fives.map((r) => `${r.what} → ${r.reply.status}`), []);
  assert.ok(!sup.proc.lines.some((l) => l.msg === 'request failed'), 'a request failed with a 500 in a worker');
  const after = snapshotTree(config.dir);
  const changed = diffTrees(before, after).filter((d) => !/sessions\/session_a\.json|^(added|changed) sessions\/$/.test(d));
  assert.deepEqual(changed, [], 'only the session file of a may have changed');
  for (const h of ['a', 'b']) {
    const w = (await sup.worker(h))!;
    assert.equal(w.state, 'ready');
    assert.equal(w.restarts, 0);
    assert.equal((await api.get(`/p/${h}/api/profile/current`)).body.handle, h);
  }
  assert.equal((await sup.worker('a'))!.pid, workerPid);
  assert.equal((await api.get('/p/b/api/get-credentials')).body.mis_username, 'b@mis.example');
  ev.assertClean();
});
