// POST /api/mis/upload-csv and GET /api/mis/csv: real CSV parsing (BOM, quoted commas,
// quotes and newlines inside quotes), the 20 MiB limit, the profile's own download folder, and the loaded CSV
// remembered across a restart.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import { makeConfigDir, TEST_CLIENT_SECRET, type TestConfigDir } from '../helpers/config-dir.ts';
import { startWorker, type RunningWorker } from '../helpers/worker.ts';
import { ResponseRecorder, assertTextHasNoSecrets } from '../helpers/recorder.ts';
import type { Client } from '../helpers/http.ts';
import { csvText, MIS_CSV_COLUMNS, MIS_CSV_ROWS } from '../fixtures/fake-mis.ts';

const MIB = 1024 * 1024;
const MIS_PASSWORD = 'mis-pass-Upload-81f';
const CSV = 'text/csv';

const recorder = new ResponseRecorder();
const workers: RunningWorker[] = [];
let config: TestConfigDir;
let nick: Client;
let lisa: Client;

async function start(handle: string) {
  const w = await startWorker(config.dir, { BLAZE_PROFILE: handle });
  workers.push(w);
  return { w, api: recorder.client(w.url) };
}

before(async () => {
  config = await makeConfigDir({ profiles: ['nick.tat', 'lisa.tat'] });
  [{ api: nick }, { api: lisa }] = await Promise.all([start('nick.tat'), start('lisa.tat')]);
  assert.equal((await nick.post('/api/save-profile-credentials', { mis_username: 'nick@mis', mis_password: MIS_PASSWORD })).status, 200);
});
after(async () => {
  await Promise.all(workers.map((w) => w.kill()));
  for (const w of workers) assertTextHasNoSecrets(`worker ${w.pid} log`, w.output(), [MIS_PASSWORD, TEST_CLIENT_SECRET]);
  await config.remove();
});

test('parses a real CSV: BOM, quoted commas, escaped quotes, a newline inside quotes, CRLF', async () => {
  const text = csvText(MIS_CSV_COLUMNS, MIS_CSV_ROWS);
  assert.ok(text.startsWith('\uFEFF'));
  const res = await nick.post('/api/mis/upload-csv', text, { 'content-type': 'text/csv; charset=utf-8' });
  assert.equal(res.status, 201, res.text);
  assert.equal(res.body.success, true);
  assert.equal(res.body.source, 'upload');
  assert.deepEqual(res.body.columns, MIS_CSV_COLUMNS);
  assert.equal(res.body.row_count, MIS_CSV_ROWS.length);
  assert.deepEqual(res.body.first_rows, MIS_CSV_ROWS);
  assert.match(res.body.file, /^MIS_CSV_UPLOAD_\d{8}T\d{9}Z\.csv$/);

  const summary = await nick.get('/api/mis/csv');
  assert.equal(summary.status, 200, summary.text);
  assert.equal(summary.body.file, res.body.file);
  assert.deepEqual(summary.body.columns, MIS_CSV_COLUMNS);
  assert.equal(summary.body.row_count, 4);
  assert.deepEqual(summary.body.first_rows[1], ['A-101', 'Gelato "Special" Pre-roll', 'Artist Tree, Select', '20', 'Line one\nline two']);
  assert.deepEqual((await nick.get('/api/mis/csv?rows=1')).body.first_rows, [MIS_CSV_ROWS[0]]);

  // the upload is kept byte for byte (BOM included) in this profile's own download folder, and nowhere else
  const saved = config.file('downloads', 'nick.tat', res.body.file);
  assert.ok((await fs.readFile(saved)).equals(Buffer.from(text, 'utf8')));
  assert.equal((await fs.stat(saved)).mode & 0o777, 0o600);
  assert.deepEqual(await fs.readdir(config.file('downloads')), ['nick.tat']);
  const other = await lisa.get('/api/mis/csv');
  assert.equal(other.status, 404);
  assert.equal(other.body.error, 'not_found');
});

test('a quoted header, an empty field, a semicolon, unicode and LF line ends', async () => {
  const text = '"Store ID","Name, Full","Qty"\n1,"Café ""Nord""",3\n2,,\n3,"a;b","multi\r\nline"\n';
  const res = await nick.post('/api/mis/upload-csv', text, { 'content-type': CSV });
  assert.equal(res.status, 201, res.text);
  assert.deepEqual(res.body.columns, ['Store ID', 'Name, Full', 'Qty']);
  assert.deepEqual(res.body.first_rows, [
    ['1', 'Café "Nord"', '3'],
    ['2', '', ''],
    ['3', 'a;b', 'multi\r\nline'],
  ]);
});

test('the loaded CSV is remembered: a restarted worker shows it again', async () => {
  const text = csvText(['a', 'b'], [['1', '2, three']]);
  const res = await nick.post('/api/mis/upload-csv', text, { 'content-type': CSV });
  assert.equal(res.status, 201);
  assert.equal((await nick.get('/api/session/csv')).status, 404, "remembered apart from the pages' session values");
  const old = workers[0]!;
  old.child.kill('SIGTERM');
  assert.deepEqual(await old.exited(), { code: 0, signal: null });
  ({ api: nick } = await start('nick.tat'));
  const summary = await nick.get('/api/mis/csv');
  assert.equal(summary.status, 200, summary.text);
  assert.equal(summary.body.file, res.body.file);
  assert.deepEqual(summary.body.first_rows, [['1', '2, three']]);
});

test('refuses what is not a CSV upload', async () => {
  const json = await nick.post('/api/mis/upload-csv', { a: 1 });
  assert.equal(json.status, 415);
  assert.equal(json.body.success, false);
  const empty = await nick.post('/api/mis/upload-csv', '', { 'content-type': CSV });
  assert.equal(empty.status, 400, empty.text);
  const broken = await nick.post('/api/mis/upload-csv', 'a,b\n"unterminated,2\n', { 'content-type': CSV });
  assert.equal(broken.status, 400, broken.text);
  assert.equal(broken.body.error, 'invalid_body');
});

test('exactly 20 MiB is accepted; one byte more is 413, with or without Content-Length', async () => {
  const header = 'sku,note\n';
  const line = `A-1,"${'x'.repeat(1000)}, more"\n`;
  let body = header + line.repeat(Math.floor((20 * MIB - header.length) / line.length));
  body += `B,${'y'.repeat(20 * MIB - Buffer.byteLength(body) - 3)}\n`;
  assert.equal(Buffer.byteLength(body), 20 * MIB);
  const ok = await nick.post('/api/mis/upload-csv', body, { 'content-type': CSV });
  assert.equal(ok.status, 201, ok.text.slice(0, 300));
  assert.equal(ok.body.row_count, Math.floor((20 * MIB - header.length) / line.length) + 1);

  const tooBig = body + 'z';
  const refused = await nick.post('/api/mis/upload-csv', tooBig, { 'content-type': CSV });
  assert.equal(refused.status, 413, refused.text.slice(0, 300));
  assert.equal(refused.body.error, 'payload_too_large');

  // in chunks with Transfer-Encoding: chunked (no Content-Length to refuse it up front), on a connection of its own
  const chunked = await nick.send('POST', '/api/mis/upload-csv', { body: Buffer.from(tooBig), headers: { 'content-type': CSV }, chunkBytes: 256 * 1024, agent: false });
  assert.equal(chunked.status, 413, chunked.text.slice(0, 300));
  assert.equal(JSON.parse(chunked.text).error, 'payload_too_large');
  // the refused uploads changed nothing
  assert.equal((await nick.get('/api/mis/csv')).body.file, ok.body.file);
});

test('no response carried a secret', () => {
  recorder.assertNoSecrets([MIS_PASSWORD, TEST_CLIENT_SECRET]);
});
