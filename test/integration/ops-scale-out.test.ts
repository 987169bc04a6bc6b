// Beyond one machine, on loopback: two supervisors, each with its own PROFILES shard, behind
// Debian's nginx configured from deploy/nginx (the template and the map renderShards writes), sharing one
// Redis for sessions. Every handle is reachable through nginx, an unknown one is nginx's 404, sessions land in
// Redis under the profile's prefix, and a recycle on one shard does not disturb the other.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { PROJECT_ROOT } from '../../shared/profiles/paths.ts';
import { renderShards } from '../../deploy/nginx/shards.ts';
import { makeConfigDir } from '../helpers/config-dir.ts';
import { requireIntegration } from '../helpers/integration.ts';
import { freePort } from '../helpers/ports.ts';
import { waitFor, isRunning } from '../helpers/processes.ts';
import { redisAvailability, startRedis } from '../helpers/redis.ts';
import { hammer, startSupervisor, type RunningSupervisor } from '../helpers/supervisor.ts';
import { request, type Reply } from '../helpers/http.ts';
import { nginxAvailability, parseMetrics, run, startNginx, type RunningNginx } from '../helpers/ops.ts';

const SHARD_A = ['a1', 'a2'];
const SHARD_B = ['b1', 'b2'];
const redisCheck = redisAvailability();
const nginxCheck = nginxAvailability();

test('two supervisor shards behind nginx, one Redis', { timeout: 90_000 }, async (t) => {
  if (!requireIntegration(t, 'redis-server', redisCheck.available, redisCheck.reason)) return;
  if (!requireIntegration(t, 'nginx', nginxCheck.available, nginxCheck.reason)) return;

  const cleanups: (() => Promise<void>)[] = [];
  t.after(async () => {
    for (const c of cleanups.reverse()) await c().catch((error) => console.error('cleanup failed:', error));
  });

  const redis = await startRedis();
  cleanups.push(() => redis.close());
  const config = await makeConfigDir({ profiles: [...SHARD_A, ...SHARD_B] });
  cleanups.push(() => config.remove());
  const work = await fs.mkdtemp(path.join(os.tmpdir(), 'tat-scale-'));
  cleanups.push(() => fs.rm(work, { recursive: true, force: true }));

  // ——— two supervisors on one config dir, each its own shard ———
  const shardEnv = (profiles: string[]) => ({ PROFILES: profiles.join(','), SESSION_BACKEND: 'redis', REDIS_URL: redis.url });
  const supervisors: RunningSupervisor[] = [];
  cleanups.push(async () => {
    for (const s of supervisors) await s.cleanup();
  });
  // One after the other: both keep their ports in the same ports.json.
  const supA = await startSupervisor({ config, env: shardEnv(SHARD_A), waitReady: SHARD_A });
  supervisors.push(supA);
  const supB = await startSupervisor({ config, env: shardEnv(SHARD_B), waitReady: SHARD_B });
  supervisors.push(supB);
  assert.deepEqual(
    (await supA.workers()).map((w) => w.handle).sort(),
    SHARD_A,
    'supervisor A runs its shard only',
  );
  assert.deepEqual(
    (await supB.workers()).map((w) => w.handle).sort(),
    SHARD_B,
    'supervisor B runs its shard only',
  );

  // ——— nginx from the deploy files ———
  const shardsJson = path.join(work, 'shards.json');
  const shards = {
    shards: [
      { name: 'a', upstream: `127.0.0.1:${supA.port}`, profiles: SHARD_A },
      { name: 'b', upstream: `127.0.0.1:${supB.port}`, profiles: SHARD_B },
    ],
  };
  await fs.writeFile(shardsJson, JSON.stringify(shards));
  const shardsConf = path.join(work, 'shards.conf');
  await fs.writeFile(shardsConf, renderShards(shards));
  // The npm script writes the same text (what docs/scaling.md tells operators to run).
  const cli = await run(process.execPath, [path.join(PROJECT_ROOT, 'deploy', 'nginx', 'shards.ts'), shardsJson]);
  assert.equal(cli.code, 0, cli.stderr);
  assert.equal(cli.stdout, await fs.readFile(shardsConf, 'utf8'));

  const nginxPort = await freePort();
  const template = await fs.readFile(path.join(PROJECT_ROOT, 'deploy', 'nginx', 'tat-mis.conf.template'), 'utf8');
  const site = template.replaceAll('{{SHARDS_CONF}}', shardsConf).replaceAll('{{LISTEN}}', `127.0.0.1:${nginxPort}`).replaceAll('{{AUTH_PROXY_HEADER}}', 'X-Forwarded-User');
  assert.doesNotMatch(site, /\{\{[A-Z_]+\}\}/, 'every placeholder filled');
  const siteConf = path.join(work, 'tat-mis.conf');
  await fs.writeFile(siteConf, site);
  let nginx: RunningNginx | null = null;
  cleanups.push(async () => {
    await nginx?.stop();
  });
  nginx = await startNginx(siteConf, nginxPort);

  const viaNginx = (method: string, p: string, body?: unknown) => request(nginxPort, method, p, { body, timeoutMs: 30_000 });

  // ——— every handle through nginx; an unknown one is nginx's own 404 ———
  for (const h of [...SHARD_A, ...SHARD_B]) {
    const reply = await viaNginx('GET', `/p/${h}/api/profile/current`);
    assert.equal(reply.status, 200, `/p/${h}/api/profile/current through nginx: ${reply.text}`);
    assert.equal(reply.body.handle, h);
    const health = await viaNginx('GET', `/p/${h}/healthz`);
    assert.equal(health.status, 200);
    assert.equal(health.body.profile, h);
    assert.equal(health.body.session_backend, 'redis');
    assert.match(String(health.headers['content-type']), /^application\/json/, 'proxied answers keep their Content-Type');
  }
  const unknown = await viaNginx('GET', '/p/zz/api/profile/current');
  assert.equal(unknown.status, 404);
  assert.equal(unknown.body.error, 'profile_not_found', `nginx's 404 body: ${unknown.text}`);
  assert.equal(unknown.body.success, false);
  assert.match(String(unknown.headers.server), /^nginx/, 'answered by nginx itself');
  assert.match(String(unknown.headers['content-type']), /^application\/json/, 'the 404 says it is JSON');
  // Not in the map of either shard, although valid for supervisor A's config dir: still nginx's 404.
  const elsewhere = await viaNginx('GET', '/p/a3/healthz');
  assert.equal(elsewhere.status, 404);
  // The dashboard and the unprefixed /api go to the first shard.
  const health = await viaNginx('GET', '/healthz');
  assert.equal(health.status, 200);
  assert.deepEqual(health.body.workers, { ready: 2 });
  const api = await viaNginx('GET', '/api/profile/current');
  assert.equal(api.status, 200);
  assert.ok(SHARD_A.includes(api.body.handle), `/api goes to shard A: ${api.text}`);

  // ——— sessions through nginx land in the one Redis, under the profile's prefix ———
  const put = await viaNginx('PUT', '/p/a1/api/session/k', { value: { through: 'nginx', n: 1 } });
  assert.equal(put.status, 200, put.text);
  const got = await viaNginx('GET', '/p/a1/api/session/k');
  assert.equal(got.status, 200, got.text);
  assert.deepEqual(got.body.value, { through: 'nginx', n: 1 });
  const raw = redis.client();
  assert.deepEqual(JSON.parse((await raw.get('tat_mis:a1:k'))!), { through: 'nginx', n: 1 });
  assert.ok((await raw.ttl('tat_mis:a1:k')) > 0, 'the key has a TTL');
  // The other shard's profiles do not see it.
  assert.equal((await viaNginx('GET', '/p/b1/api/session/k')).status, 404);
  assert.equal(await raw.exists('tat_mis:b1:k'), 0);

  // ——— a recycle on shard A does not disturb shard B ———
  const bBefore = new Map((await supB.workers()).map((w) => [w.handle!, w.pid!]));
  const a1Before = (await supA.worker('a1'))!;
  const onB = hammer(async () => {
    const paths = ['/p/b1/', '/p/b1/healthz', '/p/b2/api/profile/current'];
    const replies: Reply[] = [];
    for (const p of paths) replies.push(await viaNginx('GET', p));
    return replies.map((r, i) => ({ path: paths[i]!, status: r.status }));
  }, 3);
  // Requests to a1 itself during its recycle are held by supervisor A, not failed.
  const onA1 = hammer(async () => (await viaNginx('GET', '/p/a1/api/session/k')).status, 2);
  // Wait for traffic to flow before the recycle.
  await waitFor('traffic through nginx', async () => parseMetrics((await supB.get('/metrics')).text).value('tat_proxy_requests_total', { handle: 'b1', code: '200' }) > 0, 10_000);
  const recycled = await supA.post('/supervisor/api/workers/a1/restart');
  assert.equal(recycled.status, 200, recycled.text);
  assert.equal(recycled.body.worker.state, 'ready');
  assert.notEqual(recycled.body.worker.pid, a1Before.pid, 'a1 runs a new process');
  assert.equal(recycled.body.worker.port, a1Before.port, 'on the same port');
  const b = await onB.stop();
  const a1 = await onA1.stop();
  assert.deepEqual(b.errors, [], 'no request to shard B failed');
  const bReplies = b.results.flat();
  assert.ok(bReplies.length >= 9, `${bReplies.length} requests to shard B`);
  assert.deepEqual(
    bReplies.filter((r) => r.status !== 200),
    [],
    'every request to shard B answered 200 during the recycle on shard A',
  );
  assert.deepEqual(a1.errors, [], 'no request to a1 failed');
  assert.ok(a1.results.length > 0);
  assert.deepEqual(
    a1.results.filter((s) => s !== 200),
    [],
    'requests to a1 were held through its recycle, none failed',
  );
  const bAfter = new Map((await supB.workers()).map((w) => [w.handle!, w.pid!]));
  assert.deepEqual(bAfter, bBefore, 'shard B workers untouched (same pids)');
  for (const w of await supB.workers()) assert.equal(w.state, 'ready');
  assert.ok(!isRunning(a1Before.pid!), 'the old a1 process is gone');
  // The session survived the recycle (it lives in Redis).
  const again = await viaNginx('GET', '/p/a1/api/session/k');
  assert.deepEqual(again.body.value, { through: 'nginx', n: 1 });

  // ——— stop: nginx gracefully, each shard with its workers (SIGUSR2, as `npm run stop`; exit 0), nothing left ———
  const nginxPids = [...nginx.pids];
  await nginx.stop();
  for (const pid of nginxPids) assert.ok(!isRunning(pid), `nginx process ${pid} is still running`);
  for (const s of supervisors) {
    const workerPids = (await s.workers()).map((w) => w.pid!);
    s.proc.child.kill('SIGUSR2');
    assert.deepEqual(await s.proc.exited(), { code: 0, signal: null });
    for (const pid of [...workerPids, ...s.pids]) assert.ok(!isRunning(pid), `worker ${pid} survived its supervisor`);
  }
});
