// The Redis session backend against a real redis-server: key layout and
// TTL, SCAN-based clearing of one profile only, isolation between workers, the guide's settings.json example,
// and Redis going away and coming back while the worker keeps serving everything else.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { makeConfigDir, TEST_CLIENT_SECRET, type TestConfigDir } from '../helpers/config-dir.ts';
import { startWorker, type RunningWorker } from '../helpers/worker.ts';
import { freePort } from '../helpers/ports.ts';
import { FailNow, waitFor } from '../helpers/processes.ts';
import { requireIntegration } from '../helpers/integration.ts';
import { redisAvailability, startRedis, type RedisServer } from '../helpers/redis.ts';
import { ResponseRecorder, assertTextHasNoSecrets } from '../helpers/recorder.ts';
import type { Client } from '../helpers/http.ts';

const MIS_PASSWORD = 'mis-pass-Redis-7c1';
const REDIS_PASSWORD = 'redis-url-pass-Q93';
const SECRETS = [MIS_PASSWORD, TEST_CLIENT_SECRET, REDIS_PASSWORD];
const redisCheck = redisAvailability();

const recorder = new ResponseRecorder();
const workers: RunningWorker[] = [];
const servers: RedisServer[] = [];
const configs: TestConfigDir[] = [];

async function config(profiles = ['nick.tat'], settings?: Record<string, unknown>) {
  const c = await makeConfigDir({ profiles, ...(settings ? { settings } : {}) });
  configs.push(c);
  return c;
}
async function redis(port?: number) {
  const r = await startRedis(port ? { port } : {});
  servers.push(r);
  return r;
}
async function worker(c: TestConfigDir, handle: string, env: Record<string, string>): Promise<{ w: RunningWorker; api: Client }> {
  const w = await startWorker(c.dir, { BLAZE_PROFILE: handle, ...env });
  workers.push(w);
  return { w, api: recorder.client(w.url) };
}
const redisEnv = (r: { url: string }, prefix: string, ttl = 86400) => ({
  SESSION_BACKEND: 'redis',
  REDIS_URL: r.url,
  REDIS_PREFIX: prefix,
  REDIS_TTL: String(ttl),
});

after(async () => {
  await Promise.all(workers.map((w) => w.kill()));
  for (const w of workers) assertTextHasNoSecrets(`worker ${w.pid} log`, w.output(), SECRETS);
  await Promise.all(servers.map((s) => s.close()));
  await Promise.all(configs.map((c) => c.remove()));
});

test('keys are REDIS_PREFIX + handle + ":" + key and every write sets REDIS_TTL; stale flags are reset at start', async (t) => {
  if (!requireIntegration(t, 'redis-server', redisCheck.available, redisCheck.reason)) return;
  const r = await redis();
  const raw = r.client();
  // left behind by an earlier process: a browser and an automation that no longer exist
  await raw.set('tat_test:nick.tat:browser_ready', 'true');
  await raw.set('tat_test:nick.tat:automation_in_progress', '"pull-csv"');
  await raw.set('tat_test:nick.tat:mis_logged_in', 'true');
  await raw.set('tat_test:nick.tat:kept', '"from before"', 'EX', 5000);
  const c = await config();
  const { api } = await worker(c, 'nick.tat', redisEnv(r, 'tat_test:', 1234));

  assert.equal((await api.get('/healthz')).body.session_backend, 'redis');
  assert.equal(await raw.exists('tat_test:nick.tat:browser_ready', 'tat_test:nick.tat:automation_in_progress', 'tat_test:nick.tat:mis_logged_in'), 0);
  const before = await api.get('/api/session');
  assert.equal(before.status, 200, before.text);
  assert.equal(before.body.backend, 'redis');
  assert.deepEqual(before.body.keys, ['kept']);
  assert.deepEqual(before.body.values, { kept: 'from before' });
  assert.equal((await api.get('/api/browser-status')).body.ready, false);

  const put = await api.put('/api/session/greeting', { value: { hello: 'world', n: [1, 2, 3] } });
  assert.equal(put.status, 200, put.text);
  assert.equal(put.body.saved, true);
  assert.equal(await raw.get('tat_test:nick.tat:greeting'), JSON.stringify({ hello: 'world', n: [1, 2, 3] }));
  const ttl = await raw.ttl('tat_test:nick.tat:greeting');
  assert.ok(ttl > 1200 && ttl <= 1234, `TTL ${ttl}`);

  // a later write refreshes the TTL
  await raw.expire('tat_test:nick.tat:greeting', 30);
  assert.equal((await api.put('/api/session/greeting', { value: 'again' })).status, 200);
  const refreshed = await raw.ttl('tat_test:nick.tat:greeting');
  assert.ok(refreshed > 1200, `TTL after the second write ${refreshed}`);
  assert.deepEqual((await api.get('/api/session/greeting')).body, { success: true, key: 'greeting', value: 'again' });

  // writes made by features go through the same rules: an uploaded CSV is remembered under "~work.csv"
  // (the worker's own namespace, which the pages' keys cannot reach)
  const upload = await api.post('/api/mis/upload-csv', 'a,b\n1,2\n', { 'content-type': 'text/csv' });
  assert.equal(upload.status, 201, upload.text);
  const csvKey = JSON.parse((await raw.get('tat_test:nick.tat:~work.csv')) ?? 'null');
  assert.equal(csvKey.row_count, 1);
  // no key of this profile lives without a TTL (except the one the test planted itself with 5000 s)
  for (const key of await raw.keys('tat_test:nick.tat:*')) {
    const left = await raw.ttl(key);
    assert.ok(left > 0 && left <= 5000, `${key} has TTL ${left}`);
  }

  assert.deepEqual((await api.delete('/api/session/greeting')).body, { success: true, key: 'greeting', deleted: true });
  assert.equal(await raw.exists('tat_test:nick.tat:greeting'), 0);
  assert.equal((await api.get('/api/session/greeting')).status, 404);
  assert.equal((await api.delete('/api/session/greeting')).body.deleted, false);
});

test('two workers on one Redis are isolated; DELETE /api/session clears one profile only, with SCAN in batches', async (t) => {
  if (!requireIntegration(t, 'redis-server', redisCheck.available, redisCheck.reason)) return;
  const r = await redis();
  const raw = r.client();
  const c = await config(['nick.tat', 'lisa.tat']);
  // a prefix with glob characters: an unescaped MATCH pattern would also hit "pX:nick.tat:…"
  const prefix = 'p?[1]:';
  const env = redisEnv(r, prefix);
  const [nick, lisa] = await Promise.all([worker(c, 'nick.tat', env), worker(c, 'lisa.tat', env)]);

  assert.equal((await nick.api.put('/api/session/store', { value: 'nick store' })).status, 200);
  assert.equal((await lisa.api.put('/api/session/store', { value: 'lisa store' })).status, 200);
  assert.equal((await lisa.api.put('/api/session/only-lisa', { value: 1 })).status, 200);
  assert.equal((await nick.api.get('/api/session/store')).body.value, 'nick store');
  assert.equal((await lisa.api.get('/api/session/store')).body.value, 'lisa store');
  assert.equal((await nick.api.get('/api/session/only-lisa')).status, 404);
  assert.deepEqual((await nick.api.get('/api/session')).body.keys, ['store']);
  assert.deepEqual((await lisa.api.get('/api/session')).body.keys, ['only-lisa', 'store']);

  // many keys, so clearing takes several SCAN rounds
  const many = 1200;
  const pipeline = raw.pipeline();
  for (let i = 0; i < many; i++) pipeline.set(`${prefix}nick.tat:bulk-${i}`, String(i), 'EX', 600);
  const decoys = ['pX1:nick.tat:decoy', `p?1:nick.tat:decoy`, `${prefix}nick.tatx:decoy`, `${prefix}nick.ta:decoy`, 'nick.tat:decoy', 'other:key'];
  for (const key of decoys) pipeline.set(key, 'keep me');
  await pipeline.exec();

  const monitor = await r.client().monitor();
  const commands: string[][] = [];
  monitor.on('monitor', (_time: string, args: string[]) => commands.push(args));
  const cleared = await nick.api.delete('/api/session');
  assert.equal(cleared.status, 200, cleared.text);
  assert.equal(cleared.body.cleared, many + 1);
  await waitFor('the monitor to see the UNLINKs', () => commands.some((c) => c[0]?.toLowerCase() === 'unlink'));
  monitor.disconnect();

  const names = commands.map((c) => c[0]!.toLowerCase());
  assert.ok(!names.includes('keys'), 'KEYS was used');
  const scans = commands.filter((c) => c[0]!.toLowerCase() === 'scan');
  assert.ok(scans.length > 1, `expected several SCAN rounds, saw ${scans.length}`);
  for (const scan of scans) assert.ok(scan.map((a) => a.toLowerCase()).includes('match'), `SCAN without MATCH: ${scan.join(' ')}`);
  assert.ok(names.filter((n) => n === 'unlink' || n === 'del').length > 1, 'deleted in one batch');

  assert.deepEqual(await raw.keys('p\\?\\[1\\]:nick.tat:*'), []);
  assert.equal(await raw.exists(`${prefix}nick.tat:bulk-0`, `${prefix}nick.tat:store`), 0);
  for (const key of decoys) assert.equal(await raw.get(key), 'keep me', `${key} was deleted`);
  assert.equal(await raw.get(`${prefix}lisa.tat:store`), JSON.stringify('lisa store'));
  assert.deepEqual((await lisa.api.get('/api/session')).body.keys, ['only-lisa', 'store']);
  assert.deepEqual((await nick.api.get('/api/session')).body.keys, []);
});

test("the guide's settings.json example works as written", async (t) => {
  if (!requireIntegration(t, 'redis-server', redisCheck.available, redisCheck.reason)) return;
  const r = await redis();
  const raw = r.client();
  // config/settings.json exactly as the guide shows it, with the URL pointing at this test's Redis
  const c = await config(['nick.tat'], {
    SESSION_BACKEND: 'redis',
    REDIS_URL: `redis://localhost:${r.port}/0`,
    REDIS_PREFIX: 'tat_mis_nick:',
    REDIS_TTL: 86400,
  });
  const { w, api } = await worker(c, 'nick.tat', {});
  assert.ok(!w.lines.some((l) => l.level !== undefined && l.level >= 40 && /setting/.test(String(l.msg))), 'settings warnings');
  assert.equal((await api.get('/healthz')).body.session_backend, 'redis');
  const put = await api.put('/api/session/last_report', { value: { rows: 42 } });
  assert.equal(put.status, 200, put.text);
  assert.equal(await raw.get('tat_mis_nick:nick.tat:last_report'), '{"rows":42}');
  const ttl = await raw.ttl('tat_mis_nick:nick.tat:last_report');
  assert.ok(ttl > 86000 && ttl <= 86400, `TTL ${ttl}`);
  assert.deepEqual((await api.get('/api/session')).body.values, { last_report: { rows: 42 } });
});

test('Redis stopped mid-run: 503 session_unavailable, the rest keeps working, recovery without a restart, nothing acknowledged is lost', async (t) => {
  if (!requireIntegration(t, 'redis-server', redisCheck.available, redisCheck.reason)) return;
  const r = await redis();
  const c = await config();
  const { w, api } = await worker(c, 'nick.tat', redisEnv(r, 'tat_mid:'));
  assert.equal((await api.post('/api/save-profile-credentials', { mis_username: 'nick@mis', mis_password: MIS_PASSWORD })).status, 200);

  const acknowledged = new Map<string, number>();
  const refused: number[] = [];
  let next = 0;
  const write = async () => {
    const i = next++;
    const res = await api.put(`/api/session/k${i}`, { value: i });
    if (res.status === 200) {
      assert.equal(res.body.saved, true);
      acknowledged.set(`k${i}`, i);
    } else {
      assert.equal(res.status, 503, res.text);
      assert.equal(res.body.error, 'session_unavailable');
      assert.equal(res.body.success, false);
      assert.match(res.body.message, /redis/i);
      refused.push(i);
    }
    return res.status;
  };
  // a steady stream of writes, two at a time, while Redis goes away underneath
  let writing = true;
  let writerError: unknown = null;
  const writers = [0, 1].map(async () => {
    while (writing && !writerError) await write().catch((error) => (writerError = error));
  });
  // a writer's failed assertion ends every wait below at once (FailNow) instead of showing up as a timeout
  const check = () => {
    if (writerError) throw new FailNow(`a write went wrong: ${(writerError as Error).message}`, { cause: writerError });
  };
  await waitFor('some acknowledged writes', () => (check(), acknowledged.size >= 40));
  await r.stop({ save: true }); // Redis keeps what it acknowledged; the worker must not claim more
  await waitFor('writes to be refused', () => (check(), refused.length >= 5), 5000);
  // Redis stays down until the worker has seen it gone (its first reconnect attempt fails ~200 ms after the
  // close): a Redis back before that would be no outage to the worker at all
  await waitFor('the worker to log the outage', () => (check(), w.lines.some((l) => /redis session store unreachable/.test(String(l.msg)))), 5000);

  // everything that does not need the session still answers
  const health = await api.get('/healthz');
  assert.equal(health.status, 200);
  assert.equal(health.body.status, 'ok');
  assert.equal((await api.get('/api/profile/current')).status, 200);
  assert.equal((await api.get('/api/profile/current')).body.handle, 'nick.tat');
  assert.equal((await api.get('/api/get-credentials')).body.mis_username, 'nick@mis');
  assert.equal((await api.get('/api/browser-status')).status, 200);
  for (const res of [await api.get('/api/session'), await api.get('/api/session/k0'), await api.delete('/api/session')]) {
    assert.equal(res.status, 503, res.text);
    assert.equal(res.body.error, 'session_unavailable');
  }

  const restartedAt = performance.now();
  await r.start();
  await waitFor('the worker to reach Redis again', () => (check(), lastWasOk()), 8000);
  const recoveredIn = performance.now() - restartedAt;
  assert.ok(recoveredIn < 6000, `recovered after ${Math.round(recoveredIn)} ms`);
  const settled = acknowledged.size;
  await waitFor('more acknowledged writes after recovery', () => (check(), acknowledged.size >= settled + 20));
  writing = false;
  await Promise.all(writers);
  check();
  assert.equal(w.child.exitCode, null, 'the worker restarted or died');

  // every acknowledged write is there, through the worker and in Redis itself
  const session = await api.get('/api/session');
  assert.equal(session.status, 200, session.text);
  const raw = r.client();
  for (const [key, value] of acknowledged) {
    assert.equal(session.body.values[key], value, `acknowledged ${key} is missing`);
    assert.equal(await raw.get(`tat_mid:nick.tat:${key}`), String(value));
  }
  assert.ok(w.lines.some((l) => /redis session store unreachable/.test(String(l.msg))), 'the outage was not logged');

  function lastWasOk(): boolean {
    const lastRefused = Math.max(...refused);
    return [...acknowledged.values()].some((i) => i > lastRefused);
  }
});

test('Redis unreachable at start: the worker starts and serves, session requests get 503, then it connects by itself and resets stale flags', async (t) => {
  if (!requireIntegration(t, 'redis-server', redisCheck.available, redisCheck.reason)) return;
  const port = await freePort();
  // stale flags wait in Redis's saved data set; Redis itself is down when the worker starts
  const r = await redis(port);
  const raw = r.client();
  await raw.set('tat_late:nick.tat:browser_ready', 'true');
  await raw.set('tat_late:nick.tat:automation_in_progress', '"init-all"');
  await raw.set('tat_late:nick.tat:kept', '"yes"');
  await r.stop({ save: true });

  const c = await config();
  const { w, api } = await worker(c, 'nick.tat', {
    ...redisEnv(r, 'tat_late:'),
    REDIS_URL: `redis://:${REDIS_PASSWORD}@127.0.0.1:${port}/0`,
  });
  assert.equal((await api.get('/healthz')).status, 200);
  assert.equal((await api.get('/api/profile/current')).body.handle, 'nick.tat');
  const refused = await api.put('/api/session/x', { value: 1 });
  assert.equal(refused.status, 503, refused.text);
  assert.equal(refused.body.error, 'session_unavailable');

  await r.start();
  const started = performance.now();
  await waitFor('session requests to work', async () => (await api.get('/api/session')).status === 200, 8000);
  assert.ok(performance.now() - started < 6000);
  // the flags of the earlier process are gone once the worker reaches Redis; other keys stay
  await waitFor('stale flags to be reset', async () => {
    const s = await api.get('/api/session');
    return s.status === 200 && !('browser_ready' in s.body.values) && !('automation_in_progress' in s.body.values);
  }, 3000);
  assert.deepEqual((await api.get('/api/session')).body.values, { kept: 'yes' });
  assert.equal((await api.put('/api/session/x', { value: 1 })).status, 200);
  assert.equal(w.child.exitCode, null);
});

test('a hung Redis (SIGSTOP): session requests fail fast with 503 instead of hanging, and recover after SIGCONT', async (t) => {
  if (!requireIntegration(t, 'redis-server', redisCheck.available, redisCheck.reason)) return;
  const r = await redis();
  const c = await config();
  const { api } = await worker(c, 'nick.tat', redisEnv(r, 'tat_hang:'));
  assert.equal((await api.put('/api/session/before', { value: 'ok' })).status, 200);
  process.kill(r.pid!, 'SIGSTOP');
  try {
    const started = performance.now();
    const res = await api.put('/api/session/during', { value: 'maybe' });
    const took = performance.now() - started;
    assert.equal(res.status, 503, res.text);
    assert.equal(res.body.error, 'session_unavailable');
    assert.ok(took < 5000, `took ${Math.round(took)} ms`);
    assert.equal((await api.get('/healthz')).status, 200);
  } finally {
    process.kill(r.pid!, 'SIGCONT');
  }
  await waitFor('session requests to work again', async () => (await api.put('/api/session/after', { value: 'ok' })).status === 200, 8000);
  assert.equal((await api.get('/api/session/before')).body.value, 'ok');
  assert.equal((await api.get('/api/session/after')).body.value, 'ok');
});

test('no response carried a secret', (t) => {
  if (!requireIntegration(t, 'redis-server', redisCheck.available, redisCheck.reason)) return;
  recorder.assertNoSecrets(SECRETS);
});
