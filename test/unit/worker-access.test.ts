// The worker checks too: through the supervisor it acts on a handle named in a path or body only for someone
// the supervisor says may use it, reads the body as the supervisor did, and serves its own routes only to
// people granted its profile; without the supervisor's secret, with sign-in on, only an admin's token.
// The worker's Koa app, in this process.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { UserStore } from '../../shared/access/users.ts';
import { makeConfigDir } from '../helpers/config-dir.ts';
import { request } from '../helpers/http.ts';
import { workerApp } from '../helpers/apps.ts';
import { serve } from '../helpers/in-process.ts';

const SECRET = 'the-supervisors-secret';

test('a worker acts on a named profile only for someone who may; its own routes only for its people', async (t) => {
  const config = await makeConfigDir({ profiles: ['a', 'b'] });
  await config.addCredentials('c');
  const users = new UserStore(config.file('users.json'));
  await users.add('lisa', { password: 'lisa-Pass-12345', profiles: ['a'] });
  await users.add('nick', { password: 'nick-Pass-12345', profiles: ['b'] });
  const app = await workerApp(config.dir, 'a', { AUTH: 'local' }, SECRET);
  const { port, close } = await serve(app);
  t.after(async () => {
    await close();
    await config.remove();
  });
  const ask = async (method: string, path: string, who: Record<string, string>, body?: string) => {
    const res = await request(port, method, path, { headers: { ...who, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) }, body });
    return { status: res.status, body: JSON.parse(res.text) as { error?: string } };
  };
  const lisa = { 'x-tat-internal': SECRET, 'x-tat-user': 'lisa', 'x-tat-grants': 'a' };
  const before = await config.snapshot();

  // named in the body or the path: not hers
  for (const [method, path, body] of [
    ['POST', '/api/profile/delete', '{"handle":"b"}'],
    ['POST', '/api/profile/switch', '{"handle":"b"}'],
    ['POST', '/api/profile/register', '{"handle":"b"}'],
    ['POST', '/api/profile/delete', '\uFEFF{"handle":"b"}'],
    ['POST', '/api/profile/delete', '{"handle":" B "}'],
    ['GET', '/api/profile/check-credentials/b', undefined],
    ['GET', '/api/profile/check-credentials/%62', undefined],
  ] as const) {
    const reply = await ask(method, path, lisa, body);
    assert.equal(reply.status, 403, `${method} ${path} ${body ?? ''}: ${JSON.stringify(reply.body)}`);
  }
  // a body that could be read two ways is read no way
  assert.equal((await ask('POST', '/api/profile/delete', lisa, '{"handle":"a","handle":"b"}')).body.error, 'invalid_json');
  assert.equal((await ask('POST', '/api/profile/delete', lisa, '{"handle":"c","\\u0068andle":"b"}')).body.error, 'invalid_json');
  assert.deepEqual(await config.snapshot(), before, 'nothing refused was written');

  // her own profile's routes: yes; someone told to have only b: no
  assert.equal((await ask('GET', '/api/profile/current', lisa)).status, 200);
  assert.equal((await ask('GET', '/api/profile/current', { ...lisa, 'x-tat-user': 'nick', 'x-tat-grants': 'b' })).status, 403);
  // a handle nobody has: she may register it
  assert.equal((await ask('POST', '/api/profile/register', lisa, '{"handle":"c"}')).status, 201);

  // without the supervisor's secret (the worker's own port) the headers mean nothing: an admin's token only
  for (const who of [{ 'x-tat-user': 'root', 'x-tat-grants': '*' }, { ...lisa, 'x-tat-internal': 'wrong' }, { ...lisa, 'x-tat-internal': `${SECRET}x` }]) {
    assert.equal((await ask('GET', '/api/profile/current', who)).status, 401, JSON.stringify(who));
  }
});

test('the worker routes match exactly: another spelling is no route', async (t) => {
  const config = await makeConfigDir({ profiles: ['a', 'b'] });
  const app = await workerApp(config.dir, 'a', {}, SECRET);
  const { port, close } = await serve(app);
  t.after(async () => {
    await close();
    await config.remove();
  });
  for (const path of ['/api/profile/Delete', '/api/profile/delete/', '/API/profile/delete', '/api/profile/%64elete', '/api/profile//delete', '/api/profile/delete;x']) {
    const res = await request(port, 'POST', path, { headers: { 'content-type': 'application/json' }, body: '{"handle":"b"}' });
    assert.equal(res.status, 404, path);
  }
  assert.equal(await config.exists('tokens/token_b.json'), true);
});
