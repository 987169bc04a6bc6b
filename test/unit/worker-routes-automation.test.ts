// The worker's routes around Chrome and the MIS (worker/web/routes/{health,events,browser,mis,work}.ts), in
// this process, where no Chrome can start (CHROME_PATH names no executable): health, the event stream, the
// browser's status, the automations' clear refusals (mis_credentials_missing, password_required,
// browser_unavailable, busy), the CSV uploaded and read back, the work under way and its cancelling, and the
// setup worker that has no profile for any of it.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import { makeConfigDir, type TestConfigDir } from '../helpers/config-dir.ts';
import { inProcessWorker, serve, type InProcessWorker, type Served } from '../helpers/in-process.ts';
import { VERSION } from '../../shared/runtime/version.ts';
import type { Handle } from '../../shared/profiles/handle.ts';

const MIS_PASSWORD = 'mis-Secret-pass-77';

async function setup(t: TestContext, handle: Handle | null = 'a', env: Record<string, string> = {}, existing?: TestConfigDir): Promise<{ config: TestConfigDir; worker: InProcessWorker; http: Served }> {
  const config = existing ?? (await makeConfigDir({ profiles: ['a'] }));
  const worker = await inProcessWorker(config.dir, handle, env);
  const http = await serve(worker.app);
  t.after(async () => {
    await http.close();
    await worker.deps.profile?.loaded?.browser.close();
    if (!existing) await config.remove();
  });
  return { config, worker, http };
}

test('GET /healthz and /health', async (t) => {
  const { http } = await setup(t);
  const healthz = await http.request('GET', '/healthz');
  assert.equal(healthz.status, 200);
  assert.deepEqual(healthz.json, { success: true, status: 'ok', profile: 'a', version: VERSION, session_backend: 'memory', browser_ready: false, sheets_connected: false, restore: null });
  const health = await http.request('GET', '/health');
  assert.equal(health.status, 200);
  assert.deepEqual([health.json.success, health.json.status, health.json.profile, health.json.version], [true, 'healthy', 'a', VERSION]);
  assert.ok(Number.isFinite(Date.parse(health.json.timestamp)));
  assert.equal((await http.request('POST', '/healthz')).status, 405);
});

test('GET /api/events: the status first, then each event as it happens, and an end when the worker stops', async (t) => {
  const { worker, http } = await setup(t);
  const stream = await http.stream('/api/events');
  t.after(() => stream.close());
  assert.equal(stream.status, 200);
  assert.match(String(stream.headers['content-type']), /^text\/event-stream/);
  assert.equal(stream.headers['cache-control'], 'no-store');
  const first = await stream.waitFor(/event: status\ndata: .*\n\n/);
  assert.ok(first.startsWith('retry: 2000\n\n'), first);
  const status = JSON.parse(/event: status\ndata: (.*)\n/.exec(first)![1]!);
  assert.deepEqual({ ...status, at: 0 }, { type: 'status', at: 0, browser: null, automation: null, work: [], restore: null });

  worker.deps.events.publish({ type: 'google', authenticated: true });
  const later = await stream.waitFor('event: google');
  assert.match(later, /event: google\ndata: \{"type":"google","authenticated":true,"at":\d+\}\n\n/);

  // the profile's work, as it happens
  const profile = await worker.deps.profile!.get();
  const work = profile.work.begin('load-sheet');
  work.stage('reading the spreadsheet\'s tabs');
  await stream.waitFor(/event: work\ndata: .*"stage":"reading the spreadsheet's tabs"/);
  profile.work.finish(work, 'done', 'Loaded.');
  await stream.waitFor(/event: work\ndata: .*"state":"done"/);

  // the worker stops: the server ends the stream (a graceful stop waits for no subscriber)
  worker.deps.events.end();
  await Promise.race([stream.ended, new Promise((_resolve, reject) => setTimeout(() => reject(new Error('the stream did not end')), 3000).unref())]);
});

test('GET /api/browser-status: Chrome not started; POST /api/browser/close closes nothing and forgets the browser', async (t) => {
  const { worker, http } = await setup(t);
  const status = await http.request('GET', '/api/browser-status');
  assert.equal(status.status, 200);
  assert.deepEqual(status.json, { success: true, ready: false, state: 'not started', instance: null, mis_logged_in: false, mis_url: null, mis: null, last_crash: null, automation: null });

  await worker.deps.session.work.set('browser', { open: true, mis_logged_in: true });
  const closed = await http.request('POST', '/api/browser/close');
  assert.equal(closed.status, 200, closed.text);
  assert.deepEqual(closed.json, { success: true, browser_ready: false });
  assert.equal(await worker.deps.session.work.get('browser'), undefined, 'not reopened after a restart');
});

test('POST /api/init-all and /api/mis/pull-csv: the MIS credentials first, then Chrome, which is not there: 503 browser_unavailable', async (t) => {
  const { config, worker, http } = await setup(t);
  for (const path of ['/api/init-all', '/api/mis/pull-csv']) {
    const reply = await http.request('POST', path);
    assert.equal(reply.status, 409, `${path}: ${reply.text}`);
    assert.equal(reply.json.error, 'mis_credentials_missing', path);
  }
  await config.writeJson('blaze_configs/blaze_config_a.json', { mis_username: 'lisa@theartisttree.com', mis_password: MIS_PASSWORD });
  for (const path of ['/api/init-all', '/api/mis/pull-csv']) {
    const reply = await http.request('POST', path);
    assert.equal(reply.status, 503, `${path}: ${reply.text}`);
    assert.equal(reply.json.error, 'browser_unavailable', path);
    assert.match(reply.json.message, /CHROME_PATH .*no-chrome-here is not an executable file/);
    assert.ok(!reply.text.includes(MIS_PASSWORD));
  }
  // the old file (no origin kept) got its password's site pinned at first use
  assert.equal((await config.readJson('blaze_configs/blaze_config_a.json')).mis_password_origin, 'https://mis.theartisttree.com');
  // nothing is left running, and the status says Chrome is not started
  assert.deepEqual((await http.request('GET', '/api/work')).json, { success: true, work: [] });
  const status = await http.request('GET', '/api/browser-status');
  assert.deepEqual([status.json.ready, status.json.state, status.json.automation], [false, 'not started', null]);
  assert.equal(await worker.deps.session.work.get('browser'), undefined, 'a failed login is not remembered');
});

test('a MIS password is never sent to a MIS_URL of another origin: 409 password_required before Chrome', async (t) => {
  const config = await makeConfigDir({ profiles: ['a'] });
  t.after(() => config.remove());
  const first = await setup(t, 'a', {}, config);
  const saved = await first.http.request('POST', '/api/save-profile-credentials', { json: { mis_username: 'lisa', mis_password: MIS_PASSWORD } });
  assert.equal(saved.status, 200);
  // the same config, and a server whose MIS_URL now points elsewhere
  const moved = await setup(t, 'a', { MIS_URL: 'https://mis.evil.example.com/daily-discount' }, config);
  for (const path of ['/api/init-all', '/api/mis/pull-csv']) {
    const reply = await moved.http.request('POST', path);
    assert.equal(reply.status, 409, `${path}: ${reply.text}`);
    assert.equal(reply.json.error, 'password_required', path);
    assert.ok(!reply.text.includes(MIS_PASSWORD));
  }
});

test('one automation at a time: another is 409 busy; cancelling answers cancelled to whoever started it', async (t) => {
  const { worker, http } = await setup(t);
  const profile = await worker.deps.profile!.get();
  const running = profile.automation.run('pull-csv', (work) => {
    work.stage('waiting for the export');
    return new Promise<never>(() => {});
  });
  const outcome = running.then(
    () => 'done',
    (error: { code?: string }) => error.code,
  );
  const busy = await http.request('POST', '/api/init-all');
  assert.equal(busy.status, 409);
  assert.equal(busy.json.error, 'busy');
  assert.equal(busy.json.running, 'pull-csv');
  assert.equal((await http.request('GET', '/api/browser-status')).json.automation, 'pull-csv');

  const listed = await http.request('GET', '/api/work');
  assert.equal(listed.json.work.length, 1);
  assert.deepEqual([listed.json.work[0].name, listed.json.work[0].stage, listed.json.work[0].state, listed.json.work[0].cancellable], ['pull-csv', 'waiting for the export', 'running', true]);

  const wrongName = await http.request('POST', '/api/work/cancel', { json: { name: 'init-all' } });
  assert.equal(wrongName.status, 404);
  assert.equal(wrongName.json.error, 'not_found');
  const cancelled = await http.request('POST', '/api/work/cancel', { json: { id: listed.json.work[0].id } });
  assert.equal(cancelled.status, 200, cancelled.text);
  assert.equal(cancelled.json.cancelled.name, 'pull-csv');
  assert.equal(await outcome, 'cancelled');
  assert.deepEqual((await http.request('GET', '/api/work')).json.work, []);
  assert.equal((await http.request('GET', '/api/browser-status')).json.automation, null);
});

test('POST /api/work/cancel: nothing running is 404; work that cannot be cancelled is 409; a bad body is 400 or 415', async (t) => {
  const { worker, http } = await setup(t);
  const nothing = await http.request('POST', '/api/work/cancel');
  assert.equal(nothing.status, 404);
  assert.equal(nothing.json.error, 'not_found');
  for (const json of [{ name: 'bogus' }, { id: -1 }, { id: 1.5 }, { name: 7 }]) {
    const reply = await http.request('POST', '/api/work/cancel', { json });
    assert.equal(reply.status, 400, JSON.stringify(json));
    assert.equal(reply.json.error, 'invalid_body', JSON.stringify(json));
  }
  const malformed = await http.request('POST', '/api/work/cancel', { headers: { 'content-type': 'application/json' }, body: '{' });
  assert.equal(malformed.json.error, 'invalid_json');
  const csv = await http.request('POST', '/api/work/cancel', { headers: { 'content-type': 'text/csv' }, body: 'a' });
  assert.equal(csv.status, 415);
  assert.equal(csv.json.error, 'unsupported_media_type');

  const profile = await worker.deps.profile!.get();
  let release!: () => void;
  const closing = profile.automation.run('browser-close', () => new Promise<void>((resolve) => (release = resolve)));
  const refused = await http.request('POST', '/api/work/cancel', { json: { name: 'browser-close' } });
  assert.equal(refused.status, 409);
  assert.equal(refused.json.error, 'invalid_state');
  release();
  await closing;
});

test('POST /api/mis/upload-csv keeps the file byte for byte and GET /api/mis/csv reads it back', async (t) => {
  const { config, worker, http } = await setup(t);
  const none = await http.request('GET', '/api/mis/csv');
  assert.equal(none.status, 404);
  assert.equal(none.json.error, 'not_found');

  const bytes = Buffer.from('\uFEFFstore,price,"note, quoted"\nla,10,"a\nb"\nsf,12,x\nny,9,y\n', 'utf8');
  const uploaded = await http.request('POST', '/api/mis/upload-csv', { headers: { 'content-type': 'text/csv; charset=utf-8' }, body: bytes });
  assert.equal(uploaded.status, 201, uploaded.text);
  assert.match(uploaded.json.file, /^MIS_CSV_UPLOAD_\d{8}T\d{9}Z\.csv$/);
  assert.deepEqual(
    { ...uploaded.json, file: 'x', loaded_at: 'x' },
    { success: true, file: 'x', source: 'upload', columns: ['store', 'price', 'note, quoted'], row_count: 3, first_rows: [['la', '10', 'a\nb'], ['sf', '12', 'x'], ['ny', '9', 'y']], loaded_at: 'x' },
  );
  assert.deepEqual(await fs.readFile(config.file('downloads', 'a', uploaded.json.file)), bytes);
  assert.deepEqual(await worker.deps.session.work.get('csv'), { file: uploaded.json.file, source: 'upload', loaded_at: uploaded.json.loaded_at, row_count: 3 });

  const read = await http.request('GET', '/api/mis/csv?rows=1');
  assert.equal(read.status, 200);
  assert.equal(read.json.row_count, 3);
  assert.deepEqual(read.json.first_rows, [['la', '10', 'a\nb']]);
  const summaryOnly = await http.request('GET', '/api/mis/csv?rows=0');
  assert.equal(summaryOnly.json.row_count, 3);
  assert.deepEqual(summaryOnly.json.first_rows, [], '?rows=0 asks for the summary alone');
  assert.equal((await http.request('GET', '/api/mis/csv?rows=many')).json.first_rows.length, 3, 'an unreadable count: the default (up to 5)');

  // a new worker (a restart) reads the remembered file again; once the file is gone, there is no CSV
  const again = await setup(t, 'a', {}, config);
  await again.worker.deps.session.work.set('csv', await worker.deps.session.work.get('csv'));
  assert.equal((await again.http.request('GET', '/api/mis/csv')).json.row_count, 3);
  const third = await setup(t, 'a', {}, config);
  await third.worker.deps.session.work.set('csv', { file: 'MIS_CSV_UPLOAD_gone.csv', source: 'upload' });
  const gone = await third.http.request('GET', '/api/mis/csv');
  assert.equal(gone.status, 404);
  assert.equal(gone.json.error, 'not_found');
});

test('POST /api/mis/upload-csv refuses other types, empty or unreadable CSV, and more than 20 MiB', async (t) => {
  const { config, http } = await setup(t);
  const cases: [string, { headers?: Record<string, string>; body?: string | Buffer }, number, string][] = [
    ['JSON', { headers: { 'content-type': 'application/json' }, body: '{}' }, 415, 'unsupported_media_type'],
    ['text', { headers: { 'content-type': 'text/plain' }, body: 'a,b\n1,2\n' }, 415, 'unsupported_media_type'],
    ['a multipart form', { headers: { 'content-type': 'multipart/form-data; boundary=x' }, body: '--x--' }, 415, 'unsupported_media_type'],
    ['no type', { body: 'a,b\n1,2\n' }, 415, 'unsupported_media_type'],
    ['empty', { headers: { 'content-type': 'text/csv' }, body: '' }, 400, 'invalid_body'],
    ['an open quote', { headers: { 'content-type': 'text/csv' }, body: 'a,"b\n1,2\n' }, 400, 'invalid_body'],
    ['over 20 MiB', { headers: { 'content-type': 'application/octet-stream' }, body: Buffer.alloc(20 * 1024 * 1024 + 1, 0x61) }, 413, 'payload_too_large'],
  ];
  for (const [what, options, status, code] of cases) {
    const reply = await http.request('POST', '/api/mis/upload-csv', options);
    assert.equal(reply.status, status, `${what}: ${reply.text.slice(0, 200)}`);
    assert.equal(reply.json.error, code, what);
  }
  assert.deepEqual(await fs.readdir(config.file('downloads', 'a')).catch(() => []), [], 'no file kept from a refused upload');
});

test('the setup worker has no profile: 409 no_active_profile wherever Chrome, the MIS or Google is needed', async (t) => {
  const config = await makeConfigDir();
  t.after(() => config.remove());
  const { http } = await setup(t, null, {}, config);
  const health = await http.request('GET', '/healthz');
  assert.equal(health.status, 200);
  assert.equal(health.json.profile, null);
  assert.deepEqual((await http.request('GET', '/api/work')).json, { success: true, work: [] });
  for (const [method, path, options] of [
    ['GET', '/api/browser-status', {}],
    ['POST', '/api/init-all', {}],
    ['POST', '/api/browser/close', {}],
    ['POST', '/api/mis/pull-csv', {}],
    ['POST', '/api/mis/upload-csv', { headers: { 'content-type': 'text/csv' }, body: 'a\n1\n' }],
    ['GET', '/api/mis/csv', {}],
    ['POST', '/api/mis/load-sheet', { json: { spreadsheet_id: 'abcdefghijklmnop' } }],
    ['GET', '/api/sheets', {}],
    ['GET', '/api/sheets/values?tab=x', {}],
    ['POST', '/api/auth/google', {}],
    ['GET', '/api/auth/google/callback?code=x&state=y', {}],
    ['POST', '/api/work/cancel', {}],
  ] as const) {
    const reply = await http.request(method, path, options);
    assert.equal(reply.status, 409, `${method} ${path}: ${reply.text}`);
    assert.equal(reply.json.error, 'no_active_profile', `${method} ${path}`);
  }
  assert.equal(await config.exists('downloads'), false);
});
