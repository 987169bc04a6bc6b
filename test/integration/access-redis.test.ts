// With SESSION_BACKEND=redis, sign-ins live in Redis: a person signed in on one supervisor shard is signed in
// on the other (shards behind nginx share them), and signing out on one ends it on both.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { UserStore } from '../../shared/users.ts';
import { makeConfigDir } from '../helpers/config-dir.ts';
import { requireIntegration } from '../helpers/integration.ts';
import { waitFor } from '../helpers/processes.ts';
import { redisAvailability, startRedis } from '../helpers/redis.ts';
import { rawRequest, startSupervisor } from '../helpers/supervisor.ts';

const redisCheck = redisAvailability();

test('sign-ins shared by two shards through Redis', async (t) => {
  if (!requireIntegration(t, 'redis-server', redisCheck.available, redisCheck.reason)) return;
  const redis = await startRedis();
  const config = await makeConfigDir({ profiles: ['a', 'b'] });
  await new UserStore(config.file('users.json')).add('lisa', { password: 'lisa-Pass-1234', profiles: ['a', 'b'] });
  const env = { AUTH: 'local', SESSION_BACKEND: 'redis', REDIS_URL: redis.url, REDIS_PREFIX: 'tat_auth:', SUPERVISOR_TOKEN: 'shard-admin-token' };
  const one = await startSupervisor({ config, env: { ...env, PROFILES: 'a' }, waitReady: ['a'] });
  const two = await startSupervisor({ config, env: { ...env, PROFILES: 'b' }, waitReady: ['b'] });
  t.after(async () => {
    await one.cleanup();
    await two.cleanup();
    await redis.close();
    await config.remove();
  });
  const login = await rawRequest(one.port, 'POST', '/auth/login', { body: { username: 'lisa', password: 'lisa-Pass-1234' } });
  assert.equal(login.status, 200, login.text);
  const cookie = String(login.headers['set-cookie']).split(';')[0]!;
  const keys = await redis.client().keys('tat_auth:sign-in:*');
  assert.equal(keys.length, 1);
  assert.ok(!keys[0]!.includes(cookie.split('=')[1]!), 'Redis holds a hash of the id, not the id');
  assert.equal((await rawRequest(two.port, 'GET', '/p/b/api/profile/current', { headers: { cookie } })).status, 200, 'signed in on the other shard');
  assert.equal((await rawRequest(two.port, 'POST', '/auth/logout', { headers: { cookie } })).status, 200);
  await waitFor('the sign-out to reach the first shard', async () => (await rawRequest(one.port, 'GET', '/auth/me', { headers: { cookie } })).status === 401, 5000);
});
