// The supervisor's Gate (supervisor/access/gate.ts) and ProxyGate (proxy-gate.ts) with AUTH=local, in this
// process: a person's API token is that person (their profiles, nobody else's: 403), a revoked or made-up one
// is nobody (401), admin-only routes refuse a person, the proxied paths forward only what the person may use
// (with who is asking, for the worker), the worker routes that name another profile are decided on the body
// the worker would get, and a Host the server does not answer for is refused before anything.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import { UserStore } from '../../shared/access/users.ts';
import { makeConfigDir, type TestConfigDir } from '../helpers/config-dir.ts';
import { supervisorApp } from '../helpers/apps.ts';
import { inProcessSupervisor, serve, type InProcessSupervisor, type Served } from '../helpers/in-process.ts';

const SUPERVISOR_TOKEN = 'supervisor-token-Gate-77';

interface People {
  file: string;
  tokens: { lisa: string; bob: string; root: string; revoked: string };
}

/** users.json with lisa (profile a), bob (b) and root (admin), and their tokens, made once: each password
 *  hash costs a tenth of a second. Tokens are kept as hashes, so a copy of the file keeps them valid. */
let made: Promise<People> | undefined;
function people(): Promise<People> {
  made ??= (async () => {
    const scratch = await makeConfigDir();
    try {
      const users = new UserStore(scratch.file('users.json'));
      await users.add('lisa', { password: 'lisa-Pass-1234', profiles: ['a'] });
      await users.add('bob', { password: 'bob-Pass-5678', profiles: ['b'] });
      await users.add('root', { password: 'root-Pass-9012', admin: true });
      const tokens = {
        lisa: (await users.createToken('lisa', 'script')).token,
        bob: (await users.createToken('bob', 'script')).token,
        root: (await users.createToken('root', 'script')).token,
        revoked: '',
      };
      const revoked = await users.createToken('lisa', 'old');
      await users.revokeToken('lisa', revoked.id);
      tokens.revoked = revoked.token;
      return { file: await fs.readFile(scratch.file('users.json'), 'utf8'), tokens };
    } finally {
      await scratch.remove();
    }
  })();
  return made;
}

async function configWithPeople(t: TestContext): Promise<{ config: TestConfigDir; tokens: People['tokens'] }> {
  const config = await makeConfigDir({ profiles: ['a', 'b'] });
  t.after(() => config.remove());
  const { file, tokens } = await people();
  await fs.writeFile(config.file('users.json'), file, { mode: 0o600 });
  return { config, tokens };
}

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

async function proxied(t: TestContext, env: Record<string, string> = {}): Promise<{ config: TestConfigDir; tokens: People['tokens']; sup: InProcessSupervisor; http: Served; users: UserStore }> {
  const { config, tokens } = await configWithPeople(t);
  const users = new UserStore(config.file('users.json'));
  const sup = await inProcessSupervisor(config.dir, { AUTH: 'local', SUPERVISOR_TOKEN, ...env }, users);
  const http = await serve(sup.server);
  t.after(async () => {
    await http.close();
    await sup.stop();
  });
  return { config, tokens, sup, http, users };
}

test('the supervisor\'s routes (supervisorApp): a person\'s token reaches their profiles only; others get 403, made-up tokens 401', async (t) => {
  const { config, tokens } = await configWithPeople(t);
  const http = await serve(await supervisorApp(config.dir, { AUTH: 'local', SUPERVISOR_TOKEN }));
  t.after(() => http.close());
  const lisa = bearer(tokens.lisa);

  const me = await http.request('GET', '/auth/me', { headers: lisa });
  assert.equal(me.status, 200);
  assert.deepEqual(me.json, { success: true, username: 'lisa', admin: false, profiles: ['a'], current: 'a', auth: 'local' });
  assert.equal((await http.request('GET', '/supervisor/api/workers', { headers: lisa })).status, 200);

  // her own profile: allowed (this app runs no worker, so the route itself says there is none)
  const own = await http.request('GET', '/supervisor/api/workers/a', { headers: lisa });
  assert.equal(own.status, 404);
  assert.equal(own.json.error, 'profile_not_found');
  // bob's, or one that does not exist: the same 403, before anything is looked up
  for (const [method, path] of [
    ['GET', '/supervisor/api/workers/b'],
    ['GET', '/supervisor/api/workers/b/logs'],
    ['GET', '/supervisor/api/workers/b/logs/stream'],
    ['POST', '/supervisor/api/workers/b/restart'],
    ['POST', '/supervisor/api/workers/b/stop'],
    ['POST', '/supervisor/api/workers/b/start'],
    ['DELETE', '/supervisor/api/profiles/b'],
    ['GET', '/supervisor/api/workers/zz'],
    ['DELETE', '/supervisor/api/profiles/zz'],
  ] as const) {
    const reply = await http.request(method, path, { headers: lisa });
    assert.equal(reply.status, 403, `${method} ${path}: ${reply.text}`);
    assert.equal(reply.json.error, 'forbidden', `${method} ${path}`);
  }
  assert.equal(await config.exists('tokens/token_b.json'), true, 'bob\'s profile is still there');
  const badHandle = await http.request('GET', '/supervisor/api/workers/Bad_Handle', { headers: lisa });
  assert.equal(badHandle.status, 400);
  assert.equal(badHandle.json.error, 'invalid_handle');

  // a revoked token, a made-up one, another scheme: nobody
  for (const headers of [bearer(tokens.revoked), bearer(`${tokens.lisa}x`), bearer('tat_madeup'), { authorization: `Basic ${tokens.lisa}` }, { authorization: 'Bearer' }]) {
    const reply = await http.request('GET', '/auth/me', { headers });
    assert.equal(reply.status, 401, JSON.stringify(headers));
    assert.equal(reply.json.error, 'unauthorized');
    assert.equal(reply.headers['www-authenticate'], 'Bearer');
  }
  // the same rule as the worker's delete: her own profile she may delete
  const deleted = await http.request('DELETE', '/supervisor/api/profiles/a', { headers: lisa });
  assert.equal(deleted.status, 200, deleted.text);
  assert.equal(await config.exists('tokens/token_a.json'), false);
});

test('admin-only routes (supervisorApp) refuse a person, with a cookie-less token or none; an admin and SUPERVISOR_TOKEN pass', async (t) => {
  const { config, tokens } = await configWithPeople(t);
  const http = await serve(await supervisorApp(config.dir, { AUTH: 'local', SUPERVISOR_TOKEN }));
  t.after(() => http.close());
  const before = await fs.readFile(config.file('users.json'), 'utf8');
  const adminOnly = [
    ['GET', '/supervisor/api/users', undefined],
    ['POST', '/supervisor/api/users', { name: 'mallory', password: 'mallory-Pass-1' }],
    ['DELETE', '/supervisor/api/users/bob', undefined],
    ['POST', '/supervisor/api/users/bob/password', { password: 'taken-Over-123' }],
    ['POST', '/supervisor/api/users/lisa/profiles', { handle: 'b' }],
    ['DELETE', '/supervisor/api/users/bob/profiles/b', undefined],
    ['POST', '/supervisor/api/users/lisa/tokens', { label: 'mine' }],
    ['POST', '/supervisor/api/current', { handle: 'a' }],
    ['GET', '/admin', undefined],
    ['GET', '/assets/admin.js', undefined],
  ] as const;
  for (const [method, path, json] of adminOnly) {
    const asLisa = await http.request(method, path, { headers: bearer(tokens.lisa), ...(json ? { json } : {}) });
    assert.equal(asLisa.status, 403, `${method} ${path}: ${asLisa.text.slice(0, 200)}`);
    assert.equal(asLisa.json.error, 'forbidden', `${method} ${path}`);
    const anonymous = await http.request(method, path, json ? { json } : {});
    assert.equal(anonymous.status, 401, `${method} ${path}`);
    assert.equal(anonymous.json.error, 'unauthorized', `${method} ${path}`);
  }
  const page = await http.request('GET', '/admin', { headers: { ...bearer(tokens.lisa), accept: 'text/html' } });
  assert.equal(page.status, 403);
  assert.match(String(page.headers['content-type']), /^text\/html/);
  assert.equal(await fs.readFile(config.file('users.json'), 'utf8'), before, 'nothing refused changed users.json');

  for (const token of [tokens.root, SUPERVISOR_TOKEN]) {
    const list = await http.request('GET', '/supervisor/api/users', { headers: bearer(token) });
    assert.equal(list.status, 200, list.text);
    assert.deepEqual(list.json.users.map((u: { name: string }) => u.name), ['lisa', 'bob', 'root']);
    for (const hidden of ['"hash"', '"salt"', 'scrypt', tokens.lisa, tokens.bob]) assert.ok(!list.text.includes(hidden), hidden);
  }
  assert.equal((await http.request('GET', '/admin', { headers: bearer(tokens.root) })).status, 200);
  // what is open to everyone stays open
  assert.equal((await http.request('GET', '/healthz')).status, 200);
  assert.equal((await http.request('GET', '/login')).status, 200);
});

test('proxied paths: /p/<h>/ forwarded only for whoever may use <h>, with who is asking; /api/ goes to the person\'s own profile', async (t) => {
  const { tokens, sup, http } = await proxied(t);
  const lisa = bearer(tokens.lisa);
  const ok = await http.request('GET', '/p/a/api/profile/current?x=1', { headers: lisa });
  assert.equal(ok.status, 200, ok.text);
  assert.deepEqual(sup.forwarded, [
    { method: 'GET', path: '/api/profile/current?x=1', prefix: '/p/a', handle: 'a', who: { 'x-tat-internal': sup.internalSecret, 'x-tat-user': 'lisa', 'x-tat-grants': 'a' }, json: undefined },
  ]);

  for (const path of ['/p/b/api/profile/current', '/p/b/', '/p/b', '/p/zz/', '/p/b/api/session']) {
    const reply = await http.request('GET', path, { headers: lisa });
    assert.equal(reply.status, 403, path);
    assert.equal(reply.json.error, 'forbidden', path);
  }
  for (const method of ['POST', 'PUT', 'DELETE']) {
    const reply = await http.request(method, '/p/b/api/session', { headers: lisa, json: { value: 1 } });
    assert.equal(reply.status, 403, method);
  }
  assert.equal(sup.forwarded.length, 1, 'nothing of bob\'s was forwarded');

  // nobody, a revoked token: 401; a browser is sent to sign in and back
  for (const headers of [{}, bearer(tokens.revoked), { cookie: 'tat_session=forged' }] as Record<string, string>[]) {
    const reply = await http.request('GET', '/p/a/api/profile/current', { headers });
    assert.equal(reply.status, 401, JSON.stringify(headers));
    assert.equal(reply.json.error, 'unauthorized');
  }
  const browser = await http.request('GET', '/p/a/', { headers: { accept: 'text/html' } });
  assert.equal(browser.status, 303);
  assert.equal(browser.headers.location, '/login?next=%2Fp%2Fa%2F');
  assert.equal(sup.forwarded.length, 1);

  // /api/… is each person's own current profile; an admin's is the supervisor's current
  await http.request('GET', '/api/profile/current', { headers: lisa });
  await http.request('GET', '/api/profile/current', { headers: bearer(tokens.bob) });
  await http.request('GET', '/api/profile/current', { headers: bearer(tokens.root) });
  assert.deepEqual(sup.forwarded.slice(1).map((f) => [f.handle, f.who['x-tat-user'], f.who['x-tat-grants']]), [['a', 'lisa', 'a'], ['b', 'bob', 'b'], [sup.supervisor.current, 'root', '*']]);
  // an admin reaching a profile that does not exist: told so
  const missing = await http.request('GET', '/p/zz/', { headers: bearer(tokens.root) });
  assert.equal(missing.status, 404);
  assert.equal(missing.json.error, 'profile_not_found');
});

test('worker routes naming a profile are decided on the body the worker gets', async (t) => {
  const { tokens, sup, http, users } = await proxied(t);
  const lisa = bearer(tokens.lisa);
  const refused: [string, string, unknown][] = [
    ['POST', '/api/profile/delete', { handle: 'b' }],
    ['POST', '/api/profile/delete', { handle: ' B ' }],
    ['POST', '/p/a/api/profile/delete', { handle: 'b' }],
    ['POST', '/api/profile/switch', { handle: 'b' }],
    ['POST', '/api/profile/register', { handle: 'b' }],
    ['GET', '/api/profile/check-credentials/b', undefined],
    ['GET', '/p/a/api/profile/check-credentials/%62', undefined],
  ];
  for (const [method, path, json] of refused) {
    const reply = await http.request(method, path, { headers: lisa, ...(json ? { json } : {}) });
    assert.equal(reply.status, 403, `${method} ${path} ${JSON.stringify(json)}`);
    assert.equal(reply.json.error, 'forbidden');
  }
  const unreadable: [Record<string, string>, string, number, string][] = [
    [{ 'content-type': 'application/json' }, '{"handle":"a","handle":"b"}', 400, 'invalid_json'],
    [{ 'content-type': 'application/json' }, '{"handle":"a","\\u0068andle":"b"}', 400, 'invalid_json'],
    [{ 'content-type': 'application/json' }, '{"handle":', 400, 'invalid_json'],
    [{ 'content-type': 'application/json' }, '{"handle":"Bad_Handle"}', 400, 'invalid_handle'],
    [{ 'content-type': 'text/plain' }, '{"handle":"a"}', 415, 'unsupported_media_type'],
    [{}, '{"handle":"a"}', 415, 'unsupported_media_type'],
    [{ 'content-type': 'application/json' }, JSON.stringify({ handle: 'a', pad: 'x'.repeat(1024 * 1024) }), 413, 'payload_too_large'],
  ];
  for (const [headers, body, status, code] of unreadable) {
    const reply = await http.request('POST', '/api/profile/delete', { headers: { ...lisa, ...headers }, body });
    assert.equal(reply.status, status, body.slice(0, 60));
    assert.equal(reply.json.error, code, body.slice(0, 60));
  }
  assert.equal(sup.forwarded.length, 0, 'nothing refused reached a worker');

  // her own, spelled another way: forwarded re-serialised, the handle as it was decided on
  const mine = await http.request('POST', '/api/profile/delete', { headers: { ...lisa, 'content-type': 'application/json' }, body: '\uFEFF{"handle":" A "}' });
  assert.equal(mine.status, 200, mine.text);
  assert.equal(sup.forwarded.length, 1);
  assert.equal(sup.forwarded[0]!.json, '{"handle":"a"}');
  assert.equal(sup.forwarded[0]!.handle, 'a');
  // a handle nobody has: she may register it
  assert.equal((await http.request('POST', '/api/profile/register', { headers: lisa, json: { handle: 'new.one' } })).status, 200);
  assert.equal(sup.forwarded.at(-1)!.json, '{"handle":"new.one"}');
  // her switch moves her own /api only, answered by the supervisor
  const switched = await http.request('POST', '/api/profile/switch', { headers: lisa, json: { handle: 'a' } });
  assert.equal(switched.status, 200, switched.text);
  assert.deepEqual([switched.json.success, switched.json.handle, switched.json.requires_restart], [true, 'a', true]);
  assert.equal(users.find('lisa')!.current, 'a');
  assert.equal(sup.forwarded.length, 2, 'a person\'s switch is not forwarded');
  // an admin may act on anyone's
  assert.equal((await http.request('POST', '/api/profile/delete', { headers: bearer(tokens.root), json: { handle: 'b' } })).status, 200);
  assert.equal(sup.forwarded.at(-1)!.who['x-tat-grants'], '*');
});

test('a Host the server does not answer for is refused first (421), whatever the path and whoever asks', async (t) => {
  const { tokens, sup, http } = await proxied(t);
  for (const [method, path] of [['GET', '/'], ['GET', '/healthz'], ['POST', '/auth/login'], ['GET', '/p/a/'], ['GET', '/api/profile/current'], ['GET', '/supervisor/api/users']] as const) {
    const reply = await http.request(method, path, { headers: { host: 'evil.example.com', ...bearer(tokens.root) } });
    assert.equal(reply.status, 421, path);
    assert.equal(reply.json.error, 'host_not_allowed', path);
  }
  assert.equal(sup.forwarded.length, 0);
  assert.equal((await http.request('GET', '/healthz', { headers: { host: `localhost:${http.port}` } })).status, 200);
});

test('with AUTH=none only this machine itself gets in: a request a local proxy forwarded for someone else is 403', async (t) => {
  const { sup, http } = await proxied(t, { AUTH: 'none', SUPERVISOR_TOKEN: '' });
  assert.equal((await http.request('GET', '/supervisor/api/workers')).status, 200);
  const forwardedFor = { 'x-forwarded-for': '203.0.113.5' };
  for (const path of ['/supervisor/api/workers', '/p/a/api/profile/current', '/api/profile/current']) {
    const reply = await http.request('GET', path, { headers: forwardedFor });
    assert.equal(reply.status, 403, path);
    assert.equal(reply.json.error, 'forbidden', path);
  }
  assert.equal(sup.forwarded.length, 0);
  // sign-in is off
  const login = await http.request('POST', '/auth/login', { json: { username: 'lisa', password: 'lisa-Pass-1234' } });
  assert.equal(login.status, 409);
  assert.equal(login.json.error, 'invalid_state');
});
