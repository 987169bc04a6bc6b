// With SESSION_BACKEND=redis, sign-ins live in Redis: a person signed in on one supervisor shard is signed in
// on the other (shards behind nginx share them), and signing out on one ends it on both; and in a namespace
// that no profile's session keys can reach, whatever the profile is called.
import { createHash } from 'node:crypto';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { UserStore } from '../../shared/access/users.ts';
import { makeConfigDir } from '../helpers/config-dir.ts';
import { requireIntegration } from '../helpers/integration.ts';
import { waitFor } from '../helpers/processes.ts';
import { redisAvailability, startRedis } from '../helpers/redis.ts';
import { request } from '../helpers/http.ts';
import { startSupervisor } from '../helpers/supervisor.ts';

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
  const login = await request(one.port, 'POST', '/auth/login', { body: { username: 'lisa', password: 'lisa-Pass-1234' } });
  assert.equal(login.status, 200, login.text);
  const cookie = String(login.headers['set-cookie']).split(';')[0]!;
  const keys = await redis.client().keys('tat_auth:_sign-in:*');
  assert.equal(keys.length, 1);
  assert.ok(!keys[0]!.includes(cookie.split('=')[1]!), 'Redis holds a hash of the id, not the id');
  assert.equal((await request(two.port, 'GET', '/p/b/api/profile/current', { headers: { cookie } })).status, 200, 'signed in on the other shard');
  assert.equal((await request(two.port, 'POST', '/auth/logout', { headers: { cookie } })).status, 200);
  await waitFor('the sign-out to reach the first shard', async () => (await request(one.port, 'GET', '/auth/me', { headers: { cookie } })).status === 401, 5000);
});

test('a profile named like the sign-in namespace reaches no sign-in: it cannot forge, list or clear one', async (t) => {
  if (!requireIntegration(t, 'redis-server', redisCheck.available, redisCheck.reason)) return;
  const redis = await startRedis();
  const handles = ['sign-in', '_sign-in', 'auth', 'users'].filter((h) => /^[a-z0-9]/.test(h));
  const config = await makeConfigDir({ profiles: handles });
  const users = new UserStore(config.file('users.json'));
  await users.add('mallory', { password: 'mallory-Pass-1234', profiles: handles });
  await users.add('root', { password: 'root-Pass-1234-x', admin: true });
  const sup = await startSupervisor({ config, env: { AUTH: 'local', SESSION_BACKEND: 'redis', REDIS_URL: redis.url, REDIS_PREFIX: 'tat_mis:', SUPERVISOR_TOKEN: 'collide-admin-token' }, waitReady: handles });
  t.after(async () => {
    await sup.cleanup();
    await redis.close();
    await config.remove();
  });
  const login = await request(sup.port, 'POST', '/auth/login', { body: { username: 'mallory', password: 'mallory-Pass-1234' } });
  const cookie = String(login.headers['set-cookie']).split(';')[0]!;
  const root = await request(sup.port, 'POST', '/auth/login', { body: { username: 'root', password: 'root-Pass-1234-x' } });
  assert.equal(root.status, 200);
  const real = [cookie, String(root.headers['set-cookie']).split(';')[0]!].map((c) => createHash('sha256').update(decodeURIComponent(c.split('=')[1]!)).digest('hex'));
  // a session id of her choosing, written as root's sign-in through her own profiles' session stores
  const forgedId = 'forged-session-id-of-mallory-0123456789';
  const forged = { user: 'root', created: Date.now() + 60_000, expires: Date.now() + 3_600_000 };
  const hash = createHash('sha256').update(forgedId).digest('hex');
  for (const handle of handles) {
    for (const key of [hash, `sign-in:${hash}`, `_sign-in:${hash}`]) {
      await request(sup.port, 'PUT', `/p/${handle}/api/session/${encodeURIComponent(key)}`, { headers: { cookie }, body: { value: forged } });
    }
  }
  const as = await request(sup.port, 'GET', '/auth/me', { headers: { cookie: `tat_session=${forgedId}` } });
  assert.equal(as.status, 401, `the forged sign-in must not count: ${as.text}`);
  // her profiles' sessions list none of the sign-ins, and clearing them ends none
  for (const handle of handles) {
    const listed = await request(sup.port, 'GET', `/p/${handle}/api/session`, { headers: { cookie } });
    assert.equal(listed.status, 200);
    for (const hash of real) assert.ok(!listed.text.includes(hash), `${handle}: a real sign-in shows in the profile's session`);
    assert.equal((await request(sup.port, 'DELETE', `/p/${handle}/api/session`, { headers: { cookie } })).status, 200);
  }
  assert.equal((await redis.client().keys('tat_mis:_sign-in:*')).length, 2, "both people's sign-ins are still there");
  assert.equal((await request(sup.port, 'GET', '/auth/me', { headers: { cookie } })).status, 200, 'her own sign-in survives clearing her profiles');
});
