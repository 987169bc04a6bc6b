// The file session backend: sessions/session_{h}.json, atomic, 0600, survives a worker restart; a corrupt
// file is moved aside (kept) and named in the log; stale flags are reset at start, and nothing is written when
// nothing changed; a failed write is never reported as saved. The files are listed in docs/architecture.md,
// "Files under the config dir".
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { makeConfigDir, TEST_CLIENT_SECRET, type TestConfigDir } from '../helpers/config-dir.ts';
import { startWorker, type RunningWorker } from '../helpers/worker.ts';
import { ResponseRecorder, assertTextHasNoSecrets } from '../helpers/recorder.ts';
import type { Client } from '../helpers/http.ts';

const MIS_PASSWORD = 'mis-pass-File-4e2';
const SECRETS = [MIS_PASSWORD, TEST_CLIENT_SECRET];
const mode = async (p: string) => (await fs.stat(p)).mode & 0o777;

const recorder = new ResponseRecorder();
const workers: RunningWorker[] = [];
const configs: TestConfigDir[] = [];

async function config(profiles = ['nick.tat']) {
  const c = await makeConfigDir({ profiles });
  configs.push(c);
  return c;
}
async function worker(c: TestConfigDir, handle = 'nick.tat'): Promise<{ w: RunningWorker; api: Client }> {
  const w = await startWorker(c.dir, { BLAZE_PROFILE: handle });
  workers.push(w);
  return { w, api: recorder.client(w.url) };
}
async function stop(w: RunningWorker) {
  w.child.kill('SIGTERM');
  assert.deepEqual(await w.exited(), { code: 0, signal: null });
}

after(async () => {
  await Promise.all(workers.map((w) => w.kill()));
  for (const w of workers) assertTextHasNoSecrets(`worker ${w.pid} log`, w.output(), SECRETS);
  await Promise.all(configs.map((c) => c.remove()));
});

test('values survive a worker restart; the file is sessions/session_<h>.json, 0600 in a 0700 folder', async () => {
  const c = await config();
  const first = await worker(c);
  assert.equal((await first.api.get('/healthz')).body.session_backend, 'file');
  assert.equal((await first.api.post('/api/save-profile-credentials', { mis_username: 'nick@mis', mis_password: MIS_PASSWORD })).status, 200);
  const values = {
    spreadsheet_hint: { id: '1AbCdEfGhIjKlMnOp', tabs: ['Daily', 'Über "quoted"'] },
    counter: 41,
    flag: false,
    nothing: null,
    note: 'line one\nline two, with comma',
  };
  for (const [key, value] of Object.entries(values)) {
    const res = await first.api.put(`/api/session/${key}`, { value });
    assert.equal(res.status, 200, res.text);
    assert.equal(res.body.saved, true);
  }
  assert.equal((await first.api.put('/api/session/counter', { value: 42 })).status, 200);
  assert.equal((await first.api.put('/api/session/temporary', { value: 'gone soon' })).status, 200);
  assert.deepEqual((await first.api.delete('/api/session/temporary')).body, { success: true, key: 'temporary', deleted: true });

  const file = c.file('sessions', 'session_nick.tat.json');
  const expected = { ...values, counter: 42 };
  assert.deepEqual(JSON.parse(await fs.readFile(file, 'utf8')), expected);
  assert.equal(await mode(file), 0o600);
  assert.equal(await mode(c.file('sessions')), 0o700);
  // atomic writes leave no temp files behind
  assert.deepEqual(await fs.readdir(c.file('sessions')), ['session_nick.tat.json']);

  await stop(first.w);
  const second = await worker(c);
  const session = await second.api.get('/api/session');
  assert.equal(session.status, 200, session.text);
  assert.equal(session.body.backend, 'file');
  assert.deepEqual(session.body.keys, Object.keys(expected).sort());
  assert.deepEqual(session.body.values, expected);
  assert.deepEqual((await second.api.get('/api/session/spreadsheet_hint')).body.value, values.spreadsheet_hint);
  assert.equal((await second.api.get('/api/session/temporary')).status, 404);

  const cleared = await second.api.delete('/api/session');
  assert.deepEqual(cleared.body, { success: true, cleared: Object.keys(expected).length });
  assert.deepEqual(JSON.parse(await fs.readFile(file, 'utf8')), {});
  await stop(second.w);
  const third = await worker(c);
  assert.deepEqual((await third.api.get('/api/session')).body.keys, []);
});

test('nothing to change, nothing written: a start with no stale flag and a delete of a missing key leave the file as it is', async () => {
  const c = await config();
  await c.writeJson('sessions/session_nick.tat.json', { who: 'nick' });
  const file = c.file('sessions', 'session_nick.tat.json');
  // Every write replaces the file (a new one renamed over it). A hard link keeps the file seen last, so its
  // inode cannot be reused: the file is unwritten while it is still that one.
  const pin = async () => {
    await fs.rm(`${file}.pin`, { force: true });
    await fs.link(file, `${file}.pin`);
  };
  const unwritten = async () => (await fs.stat(file)).ino === (await fs.stat(`${file}.pin`)).ino;
  await pin();
  const { api } = await worker(c);
  assert.ok(await unwritten(), 'the start had no flag to reset and wrote nothing');
  assert.equal((await api.delete('/api/session/missing')).body.deleted, false);
  assert.ok(await unwritten(), 'a delete of a missing key wrote nothing');
  assert.equal((await api.delete('/api/session')).body.cleared, 1);
  assert.ok(!(await unwritten()), 'a change is written');
  assert.deepEqual(await c.readJson('sessions/session_nick.tat.json'), {});
  await pin();
  assert.equal((await api.delete('/api/session')).body.cleared, 0);
  assert.ok(await unwritten(), 'clearing an empty session wrote nothing');
  await fs.rm(`${file}.pin`);
});

test('two profiles keep two session files', async () => {
  const c = await config(['nick.tat', 'lisa.tat']);
  const [nick, lisa] = await Promise.all([worker(c, 'nick.tat'), worker(c, 'lisa.tat')]);
  assert.equal((await nick.api.put('/api/session/who', { value: 'nick' })).status, 200);
  assert.equal((await lisa.api.put('/api/session/who', { value: 'lisa' })).status, 200);
  assert.equal((await nick.api.get('/api/session/who')).body.value, 'nick');
  assert.equal((await lisa.api.get('/api/session/who')).body.value, 'lisa');
  assert.deepEqual(await c.readJson('sessions/session_nick.tat.json'), { who: 'nick' });
  assert.deepEqual(await c.readJson('sessions/session_lisa.tat.json'), { who: 'lisa' });
  assert.equal((await nick.api.delete('/api/session')).body.cleared, 1);
  assert.deepEqual(await c.readJson('sessions/session_lisa.tat.json'), { who: 'lisa' });
});

for (const [what, content] of [
  ['half-written JSON', '{"spreadsheet": {"id": "1Ab'],
  ['a JSON array', '["not", "an", "object"]'],
] as const) {
  test(`a corrupt session file (${what}) is moved aside, kept, named in the log, and the session starts empty`, async () => {
    const c = await config();
    const file = c.file('sessions', 'session_nick.tat.json');
    await fs.mkdir(path.dirname(file), { recursive: true });
    await fs.writeFile(file, content);
    const { w, api } = await worker(c);

    const line = await w.waitForLine((l) => typeof l.msg === 'string' && l.msg.includes('corrupt session file'), 5000);
    assert.equal(line.file, file);
    assert.equal(typeof line.kept_as, 'string');
    const keptAs = line.kept_as as string;
    assert.equal(path.dirname(keptAs), path.dirname(file));
    assert.ok(path.basename(keptAs).startsWith('session_nick.tat.json.corrupt-'), keptAs);
    assert.equal(await fs.readFile(keptAs, 'utf8'), content);
    assert.ok((line.level ?? 0) >= 50, 'logged below error level');

    const session = await api.get('/api/session');
    assert.equal(session.status, 200);
    assert.deepEqual(session.body.keys, []);
    assert.equal((await api.put('/api/session/fresh', { value: 1 })).status, 200);
    assert.deepEqual(JSON.parse(await fs.readFile(file, 'utf8')), { fresh: 1 });
    // what the person needs to look at is still there, untouched
    assert.equal(await fs.readFile(keptAs, 'utf8'), content);
  });
}

test('stale flags (browser_ready, automation_in_progress, mis_logged_in) are reset at start; other keys stay', async () => {
  const c = await config();
  await c.writeJson('sessions/session_nick.tat.json', {
    browser_ready: true,
    automation_in_progress: 'pull-csv',
    mis_logged_in: true,
    spreadsheet: { spreadsheet_id: '1AbCdEfGhIjKlMnOp', title: 'Kept' },
  });
  const { api } = await worker(c);
  // what a restart brings back moves into the worker's own namespace, out of the pages' values
  const session = await api.get('/api/session');
  assert.deepEqual(session.body.values, {});
  assert.deepEqual(await c.readJson('sessions/session_nick.tat.json'), { '~work.spreadsheet': { spreadsheet_id: '1AbCdEfGhIjKlMnOp', title: 'Kept' } });
  assert.equal((await api.get('/api/sheets')).body.title, 'Kept');
  assert.equal((await api.get('/healthz')).body.browser_ready, false);
  const status = await api.get('/api/browser-status');
  assert.equal(status.body.ready, false);
  assert.equal(status.body.automation, null);
});

test('a write that cannot reach the disk is not reported as saved, and memory is not ahead of the file', async () => {
  const c = await config();
  const { api } = await worker(c);
  assert.equal((await api.put('/api/session/value', { value: 'old' })).status, 200);
  // the sessions folder is replaced by a plain file: the next atomic write must fail (even as root)
  await fs.rm(c.file('sessions'), { recursive: true });
  await fs.writeFile(c.file('sessions'), 'not a folder');
  const res = await api.put('/api/session/value', { value: 'new' });
  assert.ok(res.status >= 500, `status ${res.status}: ${res.text}`);
  assert.equal(res.body.success, false);
  assert.notEqual(res.body.saved, true);
  assert.equal((await api.get('/api/session/value')).body.value, 'old');
  const other = await api.put('/api/session/other', { value: 1 });
  assert.ok(other.status >= 500);
  assert.deepEqual((await api.get('/api/session')).body.keys, ['value']);
});

test('the session API validates keys and bodies', async () => {
  const c = await config();
  const { api } = await worker(c);
  for (const key of ['a%20b', 'x'.repeat(129), 'a%2Fb', '..%2F..%2Fsettings']) {
    const res = await api.put(`/api/session/${key}`, { value: 1 });
    assert.ok([400, 404].includes(res.status), `${key}: ${res.status}`);
    assert.equal(res.body.success, false);
  }
  const missing = await api.put('/api/session/ok', { other: 1 });
  assert.equal(missing.status, 400);
  assert.equal(missing.body.error, 'invalid_body');
  const badJson = await api.put('/api/session/ok', '{"value":', { 'content-type': 'application/json' });
  assert.equal(badJson.status, 400);
  assert.equal(badJson.body.error, 'invalid_json');
  const notFound = await api.get('/api/session/never-set');
  assert.equal(notFound.status, 404);
  assert.equal(notFound.body.error, 'not_found');
  assert.deepEqual((await api.get('/api/session')).body.keys, []);
  assert.equal(await c.exists('settings'), false);
});

test('no response carried a secret', () => {
  recorder.assertNoSecrets(SECRETS);
});
