// The restore after a restart, across processes the profile's first worker never met: with
// SESSION_BACKEND=redis, the profile's worker started by another supervisor shard brings the work back from
// Redis; and a supervisor restarted under pm2 restarts no worker: every profile's work stays where it is.
// Real Chromium, the fake MIS and the fake Google; a real redis-server and a real pm2.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { requireIntegration } from '../helpers/integration.ts';
import { freePort, freePortRange } from '../helpers/ports.ts';
import { makePm2, PM2_CLI } from '../helpers/ops.ts';
import { killProcessesWithEnv } from '../helpers/process-table.ts';
import { redisAvailability, startRedis } from '../helpers/redis.ts';
import { startSupervisor, type RunningSupervisor } from '../helpers/supervisor.ts';
import { api, giveWork, pidOf, restoreFixtures, snapshot, waitRestored } from '../helpers/restore.ts';
import { waitFor } from '../helpers/processes.ts';

const redisCheck = redisAvailability();

test('SESSION_BACKEND=redis: the profile moved to another shard gets its work back from Redis', { timeout: 240_000 }, async (t) => {
  if (!requireIntegration(t, 'redis-server', redisCheck.available, redisCheck.reason)) return;
  const fixtures = await restoreFixtures(['moved', 'stays']);
  if (!requireIntegration(t, 'Chromium', fixtures.chrome.available, fixtures.chrome.reason)) return void (await fixtures.close());
  const redis = await startRedis();
  const env = { ...fixtures.env, SESSION_BACKEND: 'redis', REDIS_URL: redis.url, REDIS_PREFIX: 'tat_restore:' };
  const shards: RunningSupervisor[] = [];
  t.after(async () => {
    for (const s of shards) await s.cleanup();
    await redis.close();
    await fixtures.close();
  });

  // Shard A serves the profile; its work is made there.
  const a = await startSupervisor({ config: fixtures.config, env: { ...env, PROFILES: 'moved' }, waitReady: ['moved'] });
  shards.push(a);
  const onA = api(() => a.port);
  await giveWork(onA, fixtures, 'moved');
  const before = await snapshot(onA, 'moved');
  const keys = await redis.client().keys('tat_restore:moved:*');
  // in the profile's own keys, in the worker's namespace (apart from the pages' session values)
  for (const piece of ['csv', 'spreadsheet', 'browser']) assert.ok(keys.includes(`tat_restore:moved:~work.${piece}`), keys.join(', '));

  // The profile moves: shard A stops with its workers (SIGUSR2, as `npm run stop`), shard B (another
  // supervisor, other ports) takes it over.
  a.proc.child.kill('SIGUSR2');
  await a.proc.exited();
  const b = await startSupervisor({ config: fixtures.config, env: { ...env, PROFILES: 'moved,stays' }, waitReady: ['moved', 'stays'] });
  shards.push(b);
  const onB = api(() => b.port);
  await waitRestored(onB, 'moved', null, 60_000);
  assert.deepEqual(await snapshot(onB, 'moved'), before);
});

test('the supervisor restarted under pm2: every profile\'s worker keeps running with its work', { timeout: 240_000 }, async (t) => {
  if (!requireIntegration(t, 'pm2', fs.existsSync(PM2_CLI), `${PM2_CLI} is missing (npm ci installs the pm2 devDependency)`)) return;
  const fixtures = await restoreFixtures(['p1', 'p2']);
  if (!requireIntegration(t, 'Chromium', fixtures.chrome.available, fixtures.chrome.reason)) return void (await fixtures.close());
  const port = await freePort();
  const basePort = await freePortRange(4);
  const pm2 = await makePm2({ ...fixtures.env, TAT_CONFIG_DIR: fixtures.config.dir, PORT: String(port), WORKER_BASE_PORT: String(basePort) });
  t.after(async () => {
    await pm2.cleanup();
    killProcessesWithEnv('TAT_CONFIG_DIR', fixtures.config.dir);
    await fixtures.close();
  });
  // p2's credentials point at the fake Google too, so both profiles can have the whole of their work.
  await fixtures.config.writeJson('google_creds/credentials_p2.json', await fixtures.config.readJson('google_creds/credentials_p1.json'));
  await pm2.cli('start', 'ecosystem.config.cjs');
  const client = api(() => port);
  const before = new Map<string, Awaited<ReturnType<typeof snapshot>>>();
  const pids = new Map<string, number>();
  for (const h of ['p1', 'p2']) {
    await giveWork(client, fixtures, h);
    before.set(h, await snapshot(client, h));
    pids.set(h, await pidOf(client, h));
  }

  const logins = fixtures.mis.logins.length;
  await pm2.cli('restart', 'tat-mis');
  for (const h of ['p1', 'p2']) {
    // Taken back as it runs: the same process, its work where it was, nothing restored because nothing left.
    await waitFor(`${h} taken back`, async () => ((await client.get(`/supervisor/api/workers/${h}`)).body.worker?.state === 'ready' ? true : null), 30_000);
    assert.equal(await pidOf(client, h), pids.get(h), `${h}: the same process after pm2 restart`);
    assert.deepEqual(await snapshot(client, h), before.get(h), `${h} after pm2 restart`);
  }
  assert.equal(fixtures.mis.logins.length, logins, 'no new MIS login');
});
