// Process faults: a worker killed with SIGKILL in the middle of a browser automation, the supervisor
// killed with SIGKILL (with a Chrome running: the next supervisor takes it all back), and a worker's port
// taken by another program while the worker is down. Each time: nothing is left running that should not be,
// nothing stored is lost, and the profiles that were not hit keep answering.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import net from 'node:net';
import { makeConfigDir, type TestConfigDir } from '../helpers/config-dir.ts';
import { waitFor, isWorkerProcess } from '../helpers/processes.ts';
import { requireIntegration } from '../helpers/integration.ts';
import { assertNoBrowserFlags, chromiumAvailability, killProcessesMentioning, processesMentioning, processTree, stillRunningChrome } from '../helpers/chromium.ts';
import { freeze, startSupervisor, type RunningSupervisor } from '../helpers/supervisor.ts';
import { portIsFree } from '../helpers/ports.ts';
import { startFakeMis, type FakeMis } from '../fixtures/fake-mis.ts';
import { Evidence } from '../helpers/evidence.ts';
import { SECRETS } from '../helpers/secrets.ts';
import { client } from '../helpers/http.ts';
import { describeSamples, runClients, type Sample } from '../helpers/load.ts';

const chrome = chromiumAvailability();
const ACCOUNT = { email: 'lisa@theartisttree.com', password: SECRETS.misPassword };

/** Reads and session writes against `handles` until stopped; every one must succeed. */
function background(sup: RunningSupervisor, handles: string[], ev: Evidence) {
  let running = true;
  const acknowledged = new Map<string, { handle: string; value: number }>();
  let n = 0;
  const samples = runClients(sup.port, {
    concurrency: 2,
    running: () => running,
    ev,
    next: (loop) => {
      const handle = handles[n % handles.length]!;
      const i = n++;
      if (i % 4 !== 3) return { method: 'GET', path: `/p/${handle}/healthz`, handle };
      const key = `bg-${loop}-${i % 20}`;
      return {
        method: 'PUT',
        path: `/p/${handle}/api/session/${key}`,
        handle,
        body: { value: i },
        onReply: (r) => {
          if (r.status === 200) acknowledged.set(`${handle}/${key}`, { handle, value: i });
        },
      };
    },
  });
  return {
    /** Ends the traffic without checking it: for a test's cleanup, so a failed test does not leave the loops
     *  running (and its file hanging until the timeout). */
    halt(): void {
      running = false;
    },
    async stop(): Promise<Sample[]> {
      running = false;
      const all = await samples;
      const failed = all.filter((s) => s.status !== 200);
      assert.deepEqual(failed.length, 0, `requests to unaffected profiles failed:\n${describeSamples(failed)}`);
      assert.ok(all.length > 10, `only ${all.length} background requests`);
      // every acknowledged write is there
      for (const [id, { handle, value }] of acknowledged) {
        const key = id.slice(handle.length + 1);
        const r = await client(sup.port, { record: ev }).get(`/p/${handle}/api/session/${key}`);
        assert.equal(r.body.value, value, `acknowledged ${id}=${value} is lost`);
      }
      return all;
    },
  };
}

async function chromeProfile(config: TestConfigDir, handle: string, fake: FakeMis): Promise<void> {
  await config.writeJson(`blaze_configs/blaze_config_${handle}.json`, { mis_username: ACCOUNT.email, mis_password: ACCOUNT.password, mis_url: fake.misUrl });
}

test('worker killed with SIGKILL in the middle of a CSV export: no Chrome left, the worker heals, its session file intact', async (t) => {
  if (!requireIntegration(t, 'Chromium', chrome.available, chrome.reason)) return;
  const ev = new Evidence();
  const fake = await startFakeMis({ accounts: { [ACCOUNT.email]: ACCOUNT.password }, exportDelayMs: 30_000 });
  const config = await makeConfigDir({ profiles: ['lisa.tat', 'other', 'third'] });
  await chromeProfile(config, 'lisa.tat', fake);
  const sup = await startSupervisor({ config, profiles: ['lisa.tat', 'other', 'third'], env: { CHROME_PATH: chrome.path } });
  ev.watch('supervisor output', () => sup.proc.output());
  t.after(async () => {
    await sup.cleanup();
    killProcessesMentioning(config.dir);
    await fake.close();
    await config.remove();
  });
  const api = client(sup.port, { record: ev });
  const userDataDir = config.file('chrome', 'chrome_lisa.tat');
  const sessionFile = config.file('sessions', 'session_lisa.tat.json');

  // state worth keeping, then Chrome up and logged in
  assert.equal((await api.put('/p/lisa.tat/api/session/orders', { value: { open: 3, ids: ['x1', 'x2', 'x3'] } })).status, 200);
  const init = await api.post('/p/lisa.tat/api/init-all');
  assert.equal(init.status, 200, init.text);
  const main = (await api.get('/p/lisa.tat/api/browser-status')).body.instance.pid as number;
  const chromePids = [...new Set([...processTree(main), ...processesMentioning(userDataDir)])];
  assert.ok(chromePids.length >= 2, `Chrome and its helpers: ${chromePids}`);
  const before = (await sup.worker('lisa.tat'))!;

  const load = background(sup, ['other', 'third'], ev);
  t.after(() => load.halt());
  const pull = api.post('/p/lisa.tat/api/mis/pull-csv').catch((error: Error) => error);
  await waitFor('the export to be in flight', () => fake.pendingExports === 1, 15_000);
  // the running automation is live state: /api/browser-status has it, the session file does not
  assert.equal((await api.get('/p/lisa.tat/api/browser-status')).body.automation, 'pull-csv');
  assertNoBrowserFlags(JSON.parse(await fs.readFile(sessionFile, 'utf8')), 'the session file during the export');

  process.kill(before.pid!, 'SIGKILL'); // the worker only, not its process group
  const cut = await pull;
  assert.ok(!(cut instanceof Error), `the cut request is answered, not dropped: ${String(cut)}`);
  assert.equal(cut.status, 502, cut.text);
  assert.equal(cut.body.error, 'bad_gateway');

  // no Chrome process of the profile is left (the supervisor kills Chrome's group; Chrome also sees its pipe close)
  await waitFor('every Chrome process of the profile to exit', () => processesMentioning(userDataDir).length === 0 && stillRunningChrome(chromePids).length === 0, 8000).catch(
    (error: Error) => {
      throw new Error(`${error.message}; left: ${processesMentioning(userDataDir)} / ${stillRunningChrome(chromePids)}`);
    },
  );
  // healed on the same port
  const after = await sup.waitForState('lisa.tat', 'ready', 15_000, (w) => w.pid !== before.pid);
  assert.equal(after.port, before.port);
  assert.equal(after.restarts, 1);
  assert.equal(after.last_exit?.signal, 'SIGKILL');
  // the session file: valid JSON, what was stored is there, none of the dead process's live state is in it
  const session = JSON.parse(await fs.readFile(sessionFile, 'utf8'));
  assert.deepEqual(session.orders, { open: 3, ids: ['x1', 'x2', 'x3'] });
  assertNoBrowserFlags(session, 'the session file after the heal');
  // its restore opened a new Chrome and logged into the MIS again; the dead pull-csv is not running
  await waitFor('the healed worker\'s restore', async () => (await api.get('/p/lisa.tat/healthz')).body.restore?.state === 'done', 30_000);
  const status = await api.get('/p/lisa.tat/api/browser-status');
  assert.equal(status.body.ready, true);
  assert.equal(status.body.mis_logged_in, true);
  assert.equal(status.body.automation, null);
  // and the automation works again, with the new Chrome
  fake.setExportDelay(0);
  const again = await api.post('/p/lisa.tat/api/mis/pull-csv');
  assert.equal(again.status, 200, again.text);
  assert.equal(again.body.row_count, 4);
  assert.equal((await api.get('/p/lisa.tat/api/session/orders')).body.value.open, 3);

  await load.stop();
  for (const h of ['other', 'third']) assert.equal((await sup.worker(h))!.restarts, 0, `${h} was disturbed`);
  ev.assertClean();
});

test('supervisor killed with SIGKILL, then a new one: every worker and its Chrome survive it and are taken back as they run', async (t) => {
  if (!requireIntegration(t, 'Chromium', chrome.available, chrome.reason)) return;
  const ev = new Evidence();
  const fake = await startFakeMis({ accounts: { [ACCOUNT.email]: ACCOUNT.password } });
  const handles = ['nick.tat', 'store-la', 'third'];
  const config = await makeConfigDir({ profiles: handles });
  await chromeProfile(config, 'nick.tat', fake);
  const first = await startSupervisor({ config, profiles: handles, env: { CHROME_PATH: chrome.path } });
  ev.watch('first supervisor output', () => first.proc.output());
  const sups: RunningSupervisor[] = [first];
  t.after(async () => {
    for (const s of sups) await s.cleanup();
    killProcessesMentioning(config.dir);
    await fake.close();
    await config.remove();
  });
  const api1 = client(first.port, { record: ev });
  assert.equal((await api1.post('/p/nick.tat/api/init-all')).status, 200);
  assert.equal((await api1.put('/p/store-la/api/session/note', { value: 'kept across supervisors' })).status, 200);
  const chromeMain = (await api1.get('/p/nick.tat/api/browser-status')).body.instance.pid as number;
  const chromePids = [...new Set([...processTree(chromeMain), ...processesMentioning(config.dir)])].filter((pid) => stillRunningChrome([pid]).length === 1);
  const workers = await first.waitForReady(handles);
  const logins = fake.logins.length;

  process.kill(first.proc.pid, 'SIGKILL');
  await first.proc.exited();
  for (const w of workers.values()) assert.ok(isWorkerProcess(w.pid!), `worker ${w.handle} survives the supervisor`);

  // a new supervisor on the same ports takes every worker back: same processes, same Chrome, no new login
  const second = await startSupervisor({ config, profiles: handles, port: first.port, basePort: first.basePort, env: { CHROME_PATH: chrome.path } });
  sups.push(second);
  ev.watch('second supervisor output', () => second.proc.output());
  const api2 = client(second.port, { record: ev });
  const again = await second.waitForReady(handles);
  for (const h of handles) {
    assert.equal(again.get(h)!.pid, workers.get(h)!.pid, `${h} is the same process`);
    assert.equal(again.get(h)!.port, workers.get(h)!.port, `${h} keeps its port`);
    assert.equal(again.get(h)!.restarts, 0);
    const r = await api2.get(`/p/${h}/api/profile/current`);
    assert.equal(r.status, 200);
    assert.equal(r.body.handle, h);
  }
  assert.deepEqual(stillRunningChrome(chromePids), chromePids, 'the same Chrome runs');
  assert.equal((await api2.get('/p/store-la/api/session/note')).body.value, 'kept across supervisors');
  const status = await api2.get('/p/nick.tat/api/browser-status');
  assert.equal(status.body.instance.pid, chromeMain);
  assert.equal(status.body.mis_logged_in, true);
  assert.equal(fake.logins.length, logins, 'the MIS was not signed into again');
  ev.assertClean();
});

test('another program takes a worker\'s port while it is down: that worker moves to the next free port and says so; the others serve', async (t) => {
  const ev = new Evidence();
  const sup = await startSupervisor({ profiles: ['a', 'b', 'c'], env: { MAX_RESTARTS: '3', RESTART_WINDOW_MS: '60000' } });
  ev.watch('supervisor output', () => sup.proc.output());
  let squatter: net.Server | null = null;
  t.after(async () => {
    await new Promise<void>((resolve) => (squatter ? squatter.close(() => resolve()) : resolve()));
    await sup.cleanup();
  });
  const api = client(sup.port, { record: ev });
  const b = (await sup.worker('b'))!;
  const load = background(sup, ['a', 'c'], ev);
  t.after(() => load.halt());

  // kill b and take its port before the supervisor restarts it (the backoff is 0.5 s)
  process.kill(b.pid!, 'SIGKILL');
  const server = net.createServer((socket) => socket.destroy());
  await waitFor(
    'to bind the freed port',
    () =>
      new Promise<boolean>((resolve) => {
        server.once('error', () => resolve(false));
        server.listen(b.port, '127.0.0.1', () => resolve(true));
      }),
    400,
  );
  squatter = server;

  const moved = await sup.waitForState('b', 'ready', 15_000, (w) => w.port_moved !== null);
  assert.notEqual(moved.port, b.port);
  assert.deepEqual({ from: moved.port_moved!.from, to: moved.port_moved!.to, saved: moved.port_moved!.saved }, { from: b.port, to: moved.port, saved: true });
  assert.equal(moved.restarts, 1, 'the kill counts; the taken port does not');
  assert.equal(moved.direct_url, `http://127.0.0.1:${moved.port}/`);
  assert.equal((await api.get('/p/b/healthz')).status, 200);
  const ports = await sup.config.readJson('ports.json');
  assert.equal(ports.b, moved.port, 'the new port is saved');

  // it keeps its new port across a restart, even once the program is gone
  await new Promise<void>((resolve) => server.close(() => resolve()));
  squatter = null;
  assert.equal((await api.post('/supervisor/api/workers/b/restart')).status, 200);
  const back = await sup.waitForState('b', 'ready', 15_000);
  assert.equal(back.port, moved.port);
  assert.equal((await api.get('/p/b/healthz')).status, 200);
  await load.stop();
  for (const h of ['a', 'c']) assert.equal((await sup.worker(h))!.restarts, 0);
  ev.assertClean();
});

test('requests inside a worker killed with SIGKILL: reads, PUTs and DELETEs are replayed to the healed worker; a POST gets 502', async (t) => {
  const ev = new Evidence();
  const sup = await startSupervisor({ profiles: ['a', 'b'] });
  ev.watch('supervisor output', () => sup.proc.output());
  t.after(() => sup.cleanup());
  const api = client(sup.port, { record: ev });
  assert.equal((await api.put('/p/a/api/session/stay', { value: 'kept' })).status, 200);
  assert.equal((await api.put('/p/a/api/session/gone', { value: 'to be deleted' })).status, 200);
  const a = (await sup.worker('a'))!;
  // a stopped process still has its sockets: the requests reach its kernel buffers, and nothing answers
  const thaw = freeze(a.pid!);
  t.after(thaw);
  const pending = {
    get: api.get('/p/a/api/session/stay'),
    put: api.put('/p/a/api/session/new', { value: { big: 'y'.repeat(50_000) } }),
    del: api.delete('/p/a/api/session/gone'),
    post: api.post('/p/a/api/save-profile-credentials', { mis_username: 'a@mis.example' }),
  };
  await waitFor('the four requests to be in flight', async () => (await sup.worker('a'))!.in_flight === 4, 5000);
  process.kill(a.pid!, 'SIGKILL');
  const [get, put, del, post] = await Promise.all([pending.get, pending.put, pending.del, pending.post]);
  assert.equal(get.status, 200, get.text);
  assert.equal(get.body.value, 'kept');
  assert.equal(put.status, 200, put.text);
  assert.equal(del.status, 200, del.text);
  // the POST may or may not have been acted on: it is not replayed, the client is told
  assert.equal(post.status, 502, post.text);
  assert.equal(post.body.error, 'bad_gateway');
  const healed = await sup.waitForState('a', 'ready', 15_000, (w) => w.pid !== a.pid);
  assert.equal(healed.restarts, 1);
  assert.equal((await api.get('/p/a/api/session/new')).body.value.big.length, 50_000, 'the replayed PUT was stored by the new process');
  assert.equal((await api.get('/p/a/api/session/gone')).status, 404, 'the replayed DELETE was carried out');
  assert.equal((await api.get('/p/b/healthz')).status, 200);
  assert.equal((await sup.worker('b'))!.restarts, 0);
  ev.assertClean();
});
