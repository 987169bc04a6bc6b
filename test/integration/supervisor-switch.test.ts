// Switch carried out and recycles: no request fails because of a recycle; only the target
// worker is touched; a slow in-flight request finishes before its worker is replaced.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import { clientFile } from '../helpers/config-dir.ts';
import { waitFor, isRunning } from '../helpers/processes.ts';
import { freeze, hammer, startSupervisor } from '../helpers/supervisor.ts';
import type { Reply } from '../helpers/http.ts';

test('switch under concurrent requests: nothing fails, only the target is recycled', async (t) => {
  const sup = await startSupervisor({ profiles: ['a', 'b', 'c'] });
  t.after(() => sup.cleanup());
  const before = await sup.waitForReady(['a', 'b', 'c']);
  assert.equal((await sup.get('/api/profile/current')).body.handle, 'a');

  const paths = ['/api/profile/current', '/p/b/healthz', '/p/c/healthz', '/p/a/api/profile/current'];
  let i = 0;
  const load = hammer(async () => {
    const path = paths[i++ % paths.length]!;
    const r = await sup.get(path);
    return { path, status: r.status, handle: r.body?.handle ?? r.body?.profile, text: r.text };
  }, 4);
  t.after(() => load.stop());

  // traffic before the switch: some requests answered (a count, not a fixed pause that a loaded machine may
  // fill with none)
  await waitFor('requests answered before the switch', () => load.count() >= 20, 10_000);
  const switched = await sup.post('/api/profile/switch', { handle: 'c' });
  assert.equal(switched.status, 200, switched.text);
  assert.equal(switched.body.requires_restart, true);
  const switchedAt = performance.now();
  // /api points at c within 2 s; requests are held while c recycles, then c answers them
  await waitFor('/api to point at c', async () => (await sup.current()) === 'c', 2000);
  assert.ok(performance.now() - switchedAt < 2000);
  const c = await sup.waitForState('c', 'ready', 15_000, (w) => w.pid !== before.get('c')!.pid);
  assert.equal((await sup.get('/api/profile/current')).body.handle, 'c');
  // traffic after the recycle: more requests answered once c is back
  const afterRecycle = load.count();
  await waitFor('requests answered after the recycle', () => load.count() >= afterRecycle + 20, 10_000);
  const { results, errors } = await load.stop();

  assert.deepEqual(errors, [], 'a request failed at the connection level');
  const failed = results.filter((r) => r.status !== 200);
  assert.deepEqual(failed, [], `${failed.length} of ${results.length} requests failed`);
  assert.ok(results.length > 20, `only ${results.length} requests were made`);
  // the answers came from the right workers: /api from a then c, never anything else
  assert.ok(results.filter((r) => r.path === '/api/profile/current').every((r) => r.handle === 'a' || r.handle === 'c'));
  assert.ok(results.filter((r) => r.path === '/p/b/healthz').every((r) => r.handle === 'b'));

  const after = await sup.workers();
  for (const h of ['a', 'b']) {
    const w = after.find((x) => x.handle === h)!;
    assert.equal(w.pid, before.get(h)!.pid, `${h} was restarted`);
    assert.equal(w.state, 'ready');
  }
  assert.notEqual(c.pid, before.get('c')!.pid);
  assert.equal(c.port, before.get('c')!.port);
  assert.equal(after.find((w) => w.handle === 'c')!.is_current, true);
  assert.deepEqual(await sup.config.readJson('last_profile.json'), { last_profile: 'c' });
});

test('recycle with a slow in-flight request: the request completes, the worker comes back on its port', async (t) => {
  const sup = await startSupervisor({ profiles: ['h', 'other'], env: { STOP_TIMEOUT_MS: '8000' } });
  const thaws: (() => void)[] = [];
  t.after(async () => {
    for (const thaw of thaws) thaw();
    await sup.cleanup();
  });
  const old = (await sup.worker('h'))!;

  const thaw = freeze(old.pid!);
  thaws.push(thaw);
  const slow = sup.get('/p/h/api/profile/current');
  await sup.waitForState('h', 'ready', 5000, (w) => w.in_flight === 1);

  const restart = sup.post('/supervisor/api/workers/h/restart');
  await sup.waitForState('h', 'draining', 5000);
  // held, not failed: a request that arrives during the recycle waits for the new worker
  const during = sup.get('/p/h/healthz');
  await sup.waitForState('h', 'draining', 5000, (w) => w.held_requests === 1); // held before the old one thaws
  thaw();

  const done: Reply = await slow;
  assert.equal(done.status, 200, done.text);
  assert.equal(done.body.handle, 'h');
  const restarted = await restart;
  assert.equal(restarted.status, 200, restarted.text);
  const held = await during;
  assert.equal(held.status, 200, held.text);
  assert.equal(held.body.profile, 'h');

  const fresh = await sup.waitForState('h', 'ready', 15_000);
  assert.notEqual(fresh.pid, old.pid);
  assert.equal(fresh.port, old.port);
  await waitFor('the old process to exit', () => !isRunning(old.pid!), 3000);
  const direct = await sup.get('/p/h/healthz');
  assert.equal(direct.status, 200);
});

test('a change to a profile\'s credentials file recycles its worker', async (t) => {
  const sup = await startSupervisor({ profiles: ['h', 'other'] });
  t.after(() => sup.cleanup());
  const before = await sup.waitForReady(['h', 'other']);

  await sup.config.writeJson('google_creds/credentials_h.json', clientFile('h', { client_id: 'rotated.apps.googleusercontent.com' }));
  const h = await sup.waitForState('h', 'ready', 15_000, (w) => w.pid !== before.get('h')!.pid);
  assert.equal(h.port, before.get('h')!.port);
  const other = (await sup.worker('other'))!;
  assert.equal(other.pid, before.get('other')!.pid, 'another profile\'s worker was recycled');
  const r = await sup.get('/p/h/api/profile/current');
  assert.equal(r.status, 200);
  assert.equal(r.body.handle, 'h');

  // replaced atomically (temp file + rename, as editors and our own writer do): recycled too
  const tmp = sup.config.file('google_creds/.credentials_h.json.tmp');
  await fs.writeFile(tmp, JSON.stringify(clientFile('h', { client_id: 'rotated-again.apps.googleusercontent.com' })));
  await fs.rename(tmp, sup.config.file('google_creds/credentials_h.json'));
  const again = await sup.waitForState('h', 'ready', 15_000, (w) => w.pid !== h.pid);
  assert.equal(again.port, h.port);
  assert.equal((await sup.worker('other'))!.pid, before.get('other')!.pid);
});

test('switch to a profile whose worker was stopped: it is started and /api goes to it', async (t) => {
  const sup = await startSupervisor({ profiles: ['a', 'b'] });
  t.after(() => sup.cleanup());
  const a = (await sup.worker('a'))!;
  assert.equal((await sup.post('/supervisor/api/workers/b/stop')).status, 200);
  await sup.waitForState('b', 'stopped', 5000);

  const switched = await sup.post('/api/profile/switch', { handle: 'b' });
  assert.equal(switched.status, 200, switched.text);
  await waitFor('/api to point at b', async () => (await sup.current()) === 'b', 2000);
  const current = await sup.get('/api/profile/current'); // held until b is ready
  assert.equal(current.status, 200, current.text);
  assert.equal(current.body.handle, 'b');
  const b = await sup.waitForState('b', 'ready', 15_000);
  assert.ok(b.pid);
  assert.equal((await sup.worker('a'))!.pid, a.pid, 'a was not touched');
});
