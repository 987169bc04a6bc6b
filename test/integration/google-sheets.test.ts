// Google Sheets for one profile through a fake Sheets v4 API at GOOGLE_API_ROOT:
// load-sheet by id and by URL, values, the spreadsheet remembered in the session (across a restart too).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { makeConfigDir, TEST_CLIENT_SECRET, type TestConfigDir } from '../helpers/config-dir.ts';
import { startWorker, type RunningWorker } from '../helpers/worker.ts';
import { ResponseRecorder, assertTextHasNoSecrets } from '../helpers/recorder.ts';
import type { Client } from '../helpers/http.ts';
import { connectGoogle, useFakeGoogle } from '../helpers/google.ts';
import { startFakeGoogle, type FakeGoogle } from '../fixtures/fake-google.ts';

const SHEET_ID = '1BxiMVs0XRA5nFMdKvBdBZjgmUUqptlbs74OgvE2upms';
const OTHER_ID = '1OtherSheet_0123456789-abc';
const DISCOUNTS = [
  ['SKU', 'Product', 'Discount %'],
  ['A-100', 'Blue Dream 3.5g', '15'],
  ['A-101', 'Gelato, pre-roll', '20'],
  ['B-200', 'Sour Diesel', '10'],
];

const recorder = new ResponseRecorder();
const workers: RunningWorker[] = [];
let fake: FakeGoogle;
let config: TestConfigDir;
let api: Client;

async function start() {
  const w = await startWorker(config.dir, { BLAZE_PROFILE: 'nick.tat', GOOGLE_API_ROOT: fake.url });
  workers.push(w);
  api = recorder.client(w.url);
  return w;
}

before(async () => {
  fake = await startFakeGoogle();
  fake.addSpreadsheet(SHEET_ID, {
    title: 'TAT daily discounts',
    sheets: [
      { title: 'Discounts', rows: DISCOUNTS },
      { title: "Bob's tab", rows: [['x', 'y'], ['1', '2']] },
      { title: 'Empty', rows: [] },
    ],
  });
  fake.addSpreadsheet(OTHER_ID, { title: 'Other', sheets: [{ title: 'Only', rows: [['only']] }] });
  config = await makeConfigDir({ profiles: ['nick.tat'] });
  await useFakeGoogle(config, fake, 'nick.tat');
  await start();
});
after(async () => {
  await Promise.all(workers.map((w) => w.kill()));
  for (const w of workers) assertTextHasNoSecrets(`worker ${w.pid} log`, w.output(), [TEST_CLIENT_SECRET, ...fake.secrets()]);
  await fake.close();
  await config.remove();
});

test('before Google is connected: 409 not_authenticated with the fix', async () => {
  const res = await api.post('/api/mis/load-sheet', { spreadsheet_id: SHEET_ID });
  assert.equal(res.status, 409, res.text);
  assert.equal(res.body.error, 'not_authenticated');
  assert.match(res.body.message, /\/api\/auth\/google/);
  assert.equal(fake.requests.filter((r) => r.path.startsWith('/v4/')).length, 0);
});

test('load-sheet by id: title and tab titles, read at GOOGLE_API_ROOT with the profile\'s token', async () => {
  const { page } = await connectGoogle(api, fake);
  assert.equal(page.status, 200);
  const res = await api.post('/api/mis/load-sheet', { spreadsheet_id: SHEET_ID });
  assert.equal(res.status, 200, res.text);
  assert.equal(res.body.success, true);
  assert.equal(res.body.spreadsheet_id, SHEET_ID);
  assert.equal(res.body.title, 'TAT daily discounts');
  assert.deepEqual(res.body.tabs.map((t: { title: string }) => t.title), ['Discounts', "Bob's tab", 'Empty']);
  assert.deepEqual(res.body.tabs.map((t: { index: number }) => t.index), [0, 1, 2]);
  const seen = fake.requests.filter((r) => r.path === `/v4/spreadsheets/${SHEET_ID}`);
  assert.equal(seen.length, 1);
  assert.equal(seen[0]!.bearer, fake.accessTokens[0]);
  assert.match(seen[0]!.query.fields ?? '', /sheets\.properties/);
});

test('load-sheet by URL gives the same spreadsheet', async () => {
  for (const url of [
    `https://docs.google.com/spreadsheets/d/${SHEET_ID}/edit#gid=0`,
    `https://docs.google.com/spreadsheets/d/${SHEET_ID}/edit?usp=sharing`,
    `https://docs.google.com/spreadsheets/d/${SHEET_ID}`,
  ]) {
    const res = await api.post('/api/mis/load-sheet', { url });
    assert.equal(res.status, 200, `${url}: ${res.text}`);
    assert.equal(res.body.spreadsheet_id, SHEET_ID);
    assert.equal(res.body.tabs[0].title, 'Discounts');
  }
});

test('values of a tab and range', async () => {
  const all = await api.get('/api/sheets/values?tab=Discounts');
  assert.equal(all.status, 200, all.text);
  assert.equal(all.body.spreadsheet_id, SHEET_ID);
  assert.deepEqual(all.body.values, DISCOUNTS);
  const part = await api.get('/api/sheets/values?tab=Discounts&range=B2:C3');
  assert.equal(part.status, 200, part.text);
  assert.deepEqual(part.body.values, [['Blue Dream 3.5g', '15'], ['Gelato, pre-roll', '20']]);
  assert.equal(part.body.range, "'Discounts'!B2:C3");
  const quoted = await api.get(`/api/sheets/values?tab=${encodeURIComponent("Bob's tab")}&range=A1:B2`);
  assert.equal(quoted.status, 200, quoted.text);
  assert.deepEqual(quoted.body.values, [['x', 'y'], ['1', '2']]);
  const empty = await api.get('/api/sheets/values?tab=Empty');
  assert.equal(empty.status, 200, empty.text);
  assert.deepEqual(empty.body.values, []);
  const other = await api.get(`/api/sheets/values?tab=Only&spreadsheet_id=${OTHER_ID}`);
  assert.equal(other.status, 200, other.text);
  assert.deepEqual(other.body.values, [['only']]);
});

test('bad requests are refused with a reason', async () => {
  const noTab = await api.get('/api/sheets/values');
  assert.equal(noTab.status, 400);
  assert.equal(noTab.body.error, 'invalid_body');
  const badRange = await api.get('/api/sheets/values?tab=Discounts&range=A1;DROP');
  assert.equal(badRange.status, 400);
  const noId = await api.post('/api/mis/load-sheet', {});
  assert.equal(noId.status, 400);
  assert.equal(noId.body.error, 'invalid_body');
  const notAnId = await api.post('/api/mis/load-sheet', { url: 'https://example.com/not-a-sheet' });
  assert.equal(notAnId.status, 400);
  const unknown = await api.post('/api/mis/load-sheet', { spreadsheet_id: '1NoSuchSpreadsheet_xyz' });
  assert.equal(unknown.status, 404, unknown.text);
  assert.equal(unknown.body.error, 'not_found');
  const unknownTab = await api.get('/api/sheets/values?tab=Nope');
  // Google answers 400 "Unable to parse range": the person's tab name is wrong, not the server
  assert.equal(unknownTab.status, 400, unknownTab.text);
  assert.equal(unknownTab.body.success, false);
  assert.equal(unknownTab.body.error, 'invalid_body');
  assert.match(unknownTab.body.message, /Nope/);
});

test('the loaded spreadsheet is remembered in the session, across a worker restart', async () => {
  const loaded = await api.get('/api/sheets');
  assert.equal(loaded.status, 200, loaded.text);
  assert.equal(loaded.body.spreadsheet_id, SHEET_ID);
  assert.equal(loaded.body.title, 'TAT daily discounts');
  assert.deepEqual(loaded.body.tabs.map((t: { title: string }) => t.title), ['Discounts', "Bob's tab", 'Empty']);
  // remembered apart from the pages' session values: clearing those keeps it
  assert.equal((await api.get('/api/session/spreadsheet')).status, 404);
  assert.equal((await api.delete('/api/session')).status, 200);
  assert.equal((await api.get('/api/sheets')).body.spreadsheet_id, SHEET_ID);

  const old = workers.at(-1)!;
  old.child.kill('SIGTERM');
  assert.deepEqual(await old.exited(), { code: 0, signal: null });
  await start();
  assert.equal((await api.get('/healthz')).body.sheets_connected, false);
  const values = await api.get('/api/sheets/values?tab=Discounts&range=A1:A2');
  assert.equal(values.status, 200, values.text);
  assert.equal(values.body.spreadsheet_id, SHEET_ID);
  assert.deepEqual(values.body.values, [['SKU'], ['A-100']]);
  assert.equal((await api.get('/healthz')).body.sheets_connected, true);

  // a new load replaces what is remembered
  assert.equal((await api.post('/api/mis/load-sheet', { spreadsheet_id: OTHER_ID })).status, 200);
  assert.equal((await api.get('/api/sheets')).body.spreadsheet_id, OTHER_ID);
  assert.deepEqual((await api.get('/api/sheets/values?tab=Only')).body.values, [['only']]);
});

test('no response carried a secret', () => {
  recorder.assertNoSecrets([TEST_CLIENT_SECRET, ...fake.secrets()]);
});
