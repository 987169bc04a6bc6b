// Sign-in with AUTH=local (supervisor/access/{sign-in-routes,sign-in-limits,identity}.ts), the supervisor's
// listener in this process: one answer for a wrong password and an unknown name, the pause after five
// failures from one client address (and only that address), a forged or ended session treated as signed
// out, a new session id at every sign-in, a password change ending old sessions, and no secret in any answer.
import { describe, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import { UserStore } from '../../shared/access/users.ts';
import { createLogger } from '../../shared/runtime/logger.ts';
import { FileSignIns } from '../../supervisor/access/sign-ins.ts';
import { makeConfigDir, type TestConfigDir } from '../helpers/config-dir.ts';
import { inProcessSupervisor, serve, type InProcessSupervisor, type Reply, type RequestOptions, type Served } from '../helpers/in-process.ts';

const silent = createLogger({ level: 'silent' });
const PASSWORDS = { lisa: 'lisa-Pass-1234', root: 'root-Pass-9012' };

interface World {
  config: TestConfigDir;
  sup: InProcessSupervisor;
  http: Served;
  users: UserStore;
  /** Every answer (Set-Cookie of a sign-in aside), for the secrets check. */
  answers: string[];
  call(method: string, path: string, options?: RequestOptions): Promise<Reply>;
  login(username: string, password: string, headers?: Record<string, string>): Promise<Reply>;
  signIn(name: keyof typeof PASSWORDS, headers?: Record<string, string>): Promise<string>;
}

/** users.json with lisa and root, made once (each password hash costs a tenth of a second). */
let peopleFile: Promise<string> | undefined;
function people(): Promise<string> {
  peopleFile ??= (async () => {
    const scratch = await makeConfigDir();
    try {
      const users = new UserStore(scratch.file('users.json'));
      await users.add('lisa', { password: PASSWORDS.lisa, profiles: ['a'] });
      await users.add('root', { password: PASSWORDS.root, admin: true });
      return await fs.readFile(scratch.file('users.json'), 'utf8');
    } finally {
      await scratch.remove();
    }
  })();
  return peopleFile;
}

async function world(t: TestContext, env: Record<string, string> = {}): Promise<World> {
  const config = await makeConfigDir({ profiles: ['a', 'b'] });
  await fs.writeFile(config.file('users.json'), await people(), { mode: 0o600 });
  const users = new UserStore(config.file('users.json'));
  const sup = await inProcessSupervisor(config.dir, { AUTH: 'local', ...env }, users);
  const http = await serve(sup.server);
  t.after(async () => {
    await http.close();
    await sup.stop();
    await config.remove();
  });
  const answers: string[] = [];
  const call: World['call'] = async (method, path, options) => {
    const reply = await http.request(method, path, options);
    const { 'set-cookie': _cookie, ...headers } = reply.headers;
    answers.push(JSON.stringify(headers), reply.text);
    return reply;
  };
  const login: World['login'] = (username, password, headers = {}) => call('POST', '/auth/login', { json: { username, password }, headers });
  const signIn: World['signIn'] = async (name, headers) => {
    const reply = await login(name, PASSWORDS[name], headers);
    assert.equal(reply.status, 200, reply.text);
    return String(reply.headers['set-cookie']).split(';')[0]!;
  };
  return { config, sup, http, users, answers, call, login, signIn };
}

function noSecretsIn(w: World, more: string[] = []): void {
  const file = JSON.stringify(w.users.list());
  const hashes = [...file.matchAll(/"hash":"([^"]+)"/g)].map((m) => m[1]!);
  for (const answer of w.answers) {
    for (const secret of [...Object.values(PASSWORDS), ...hashes, ...more]) assert.ok(!answer.includes(secret), `an answer holds a secret: ${answer.slice(0, 200)}`);
  }
}

// Each test has its own config dir and listener: they run side by side (the password hashes take the time).
describe('sign-in', { concurrency: true }, () => {
  test('a wrong password and an unknown name get the same answer: 401 invalid_credentials, no cookie', async (t) => {
    const w = await world(t);
    const wrong = await w.login('lisa', 'not-her-password');
    const unknown = await w.login('nobody', 'not-her-password');
    for (const reply of [wrong, unknown]) {
      assert.equal(reply.status, 401);
      assert.deepEqual(reply.json, { success: false, error: 'invalid_credentials', message: 'the user name or the password is wrong' });
      assert.equal(reply.headers['set-cookie'], undefined);
    }
    assert.deepEqual(Object.keys(wrong.headers).filter((h) => h !== 'date').sort(), Object.keys(unknown.headers).filter((h) => h !== 'date').sort(), 'the same headers');
    assert.equal(wrong.headers['content-length'], unknown.headers['content-length']);
    noSecretsIn(w);
  });

  test('the right password: 200, a session cookie (HttpOnly, SameSite=Lax), and /auth/me says who', async (t) => {
    const w = await world(t);
    const reply = await w.login('  LISA ', PASSWORDS.lisa);
    assert.equal(reply.status, 200, reply.text);
    assert.deepEqual(reply.json, { success: true, username: 'lisa', admin: false });
    const setCookie = String(reply.headers['set-cookie']);
    assert.match(setCookie, /^tat_session=[A-Za-z0-9_-]{43}; HttpOnly; SameSite=Lax; Path=\/; Max-Age=86400$/);
    const cookie = setCookie.split(';')[0]!;
    const me = await w.call('GET', '/auth/me', { headers: { cookie } });
    assert.equal(me.status, 200);
    assert.deepEqual(me.json, { success: true, username: 'lisa', admin: false, profiles: ['a'], current: 'a', auth: 'local' });
    // the session id is kept as a hash only
    const stored = await w.config.readJson('sign-ins.json');
    assert.ok(!JSON.stringify(stored).includes(cookie.split('=')[1]!), 'no session id in sign-ins.json');
    noSecretsIn(w, [cookie.split('=')[1]!]);
  });

  test('a forged, altered or foreign session cookie is someone signed out', async (t) => {
    const w = await world(t);
    const cookie = await w.signIn('lisa');
    // a session of lisa's that another supervisor (another sign-in store) made
    const foreign = `tat_session=${await (await FileSignIns.open(w.config.file('elsewhere.json'), 60_000, silent)).create('lisa')}`;
    for (const forged of ['tat_session=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA', `${cookie}x`, cookie.slice(0, -1), foreign, 'tat_session=', 'tat_session=%zz', `tat_session=${'a'.repeat(5000)}`, `other=${cookie.split('=')[1]}`]) {
      const me = await w.call('GET', '/auth/me', { headers: { cookie: forged } });
      assert.equal(me.status, 401, forged.slice(0, 60));
      assert.equal(me.json.error, 'unauthorized', forged.slice(0, 60));
      assert.equal(me.headers['www-authenticate'], 'Bearer');
      const page = await w.call('GET', '/', { headers: { cookie: forged, accept: 'text/html' } });
      assert.equal(page.status, 303, forged.slice(0, 60));
      assert.equal(page.headers.location, '/login?next=%2F');
      const proxied = await w.call('GET', '/p/a/api/profile/current', { headers: { cookie: forged } });
      assert.equal(proxied.status, 401, forged.slice(0, 60));
    }
    assert.equal(w.sup.forwarded.length, 0, 'nothing forged reached a worker');
    assert.equal((await w.call('GET', '/auth/me', { headers: { cookie } })).status, 200, 'the real one still works');
  });

  test('signing out ends that session, and only that one', async (t) => {
    const w = await world(t);
    const first = await w.signIn('lisa');
    const second = await w.signIn('lisa');
    assert.notEqual(first, second, 'a new id at every sign-in');
    const out = await w.call('POST', '/auth/logout', { headers: { cookie: first } });
    assert.equal(out.status, 200);
    assert.deepEqual(out.json, { success: true });
    assert.match(String(out.headers['set-cookie']), /^tat_session=; HttpOnly; SameSite=Lax; Path=\/; Max-Age=0$/);
    for (const [method, path] of [['GET', '/auth/me'], ['GET', '/supervisor/api/workers'], ['GET', '/p/a/']] as const) {
      const reply = await w.call(method, path, { headers: { cookie: first } });
      assert.equal(reply.status, 401, path);
    }
    assert.equal((await w.call('GET', '/auth/me', { headers: { cookie: second } })).status, 200, 'her other sign-in holds');
    // signing out without a session, or twice, is harmless
    assert.equal((await w.call('POST', '/auth/logout')).status, 200);
    assert.equal((await w.call('POST', '/auth/logout', { headers: { cookie: first } })).status, 200);
  });

  test('signing in again with a cookie ends the session it named; a password change ends them all', async (t) => {
    const w = await world(t);
    const old = await w.signIn('lisa');
    const fresh = await w.signIn('lisa', { cookie: old });
    assert.equal((await w.call('GET', '/auth/me', { headers: { cookie: old } })).status, 401, 'no session carried over');
    assert.equal((await w.call('GET', '/auth/me', { headers: { cookie: fresh } })).status, 200);
    await w.users.setPassword('lisa', 'a-new-Pass-5678');
    assert.equal((await w.call('GET', '/auth/me', { headers: { cookie: fresh } })).status, 401, 'ended by the password change');
    assert.equal((await w.login('lisa', 'a-new-Pass-5678')).status, 200, 'the new password works');
  });

  test('five failures from one client address: 429 too_many_attempts there, the right password included; elsewhere she signs in', async (t) => {
    const w = await world(t);
    // The supervisor is behind a proxy on this machine (loopback is a trusted proxy): the client address is
    // the one the proxy names.
    const attacker = { 'x-forwarded-for': '203.0.113.5' };
    for (const [name, password] of [['lisa', 'guess-1'], ['nobody', 'guess-2'], ['lisa', 'guess-3'], ['root', 'guess-4'], ['ghost', 'guess-5']] as const) {
      const reply = await w.login(name, password, attacker);
      assert.equal(reply.status, 401, name);
      assert.equal(reply.json.error, 'invalid_credentials');
    }
    for (const [name, password] of [['lisa', PASSWORDS.lisa], ['root', PASSWORDS.root], ['nobody', 'x']] as const) {
      const paused = await w.login(name, password, attacker);
      assert.equal(paused.status, 429, name);
      assert.equal(paused.json.error, 'too_many_attempts');
      assert.equal(paused.headers['set-cookie'], undefined);
      const retryAfter = Number(paused.headers['retry-after']);
      assert.ok(retryAfter > 890 && retryAfter <= 900, `retry-after ${retryAfter}`);
      assert.match(paused.json.message, /try again in 15 minutes$/);
    }
    // the same person from another address is not affected
    assert.equal((await w.login('lisa', PASSWORDS.lisa, { 'x-forwarded-for': '203.0.113.6' })).status, 200);
    // a client cannot pick its address: a hop it wrote before the one the proxy added is not the one counted
    assert.equal((await w.login('lisa', PASSWORDS.lisa, { 'x-forwarded-for': '203.0.113.9, 203.0.113.5' })).status, 429, 'the proxy\'s last hop counts');
    noSecretsIn(w);
  });

  test('what is not an attempt does not count: bodies refused before the password is read', async (t) => {
    const w = await world(t, { AUTH_LOCKOUT_MS: '60000' });
    const client = { 'x-forwarded-for': '198.51.100.7' };
    const cases: [RequestOptions, number, string][] = [
      [{ headers: { ...client, 'content-type': 'application/json' }, body: '{"username":"lisa",' }, 400, 'invalid_json'],
      [{ headers: client, json: { username: 'lisa' } }, 400, 'invalid_body'],
      [{ headers: client, json: { username: '', password: 'x' } }, 400, 'invalid_body'],
      [{ headers: client, json: { username: 'x'.repeat(65), password: 'x' } }, 400, 'invalid_body'],
      [{ headers: { ...client, 'content-type': 'application/x-www-form-urlencoded' }, body: 'username=lisa&password=x' }, 415, 'unsupported_media_type'],
      [{ headers: { ...client, 'content-type': 'text/plain' }, body: '{"username":"lisa","password":"x"}' }, 415, 'unsupported_media_type'],
      [{ headers: { ...client, 'content-type': 'application/json' }, body: JSON.stringify({ username: 'lisa', password: 'x'.repeat(1024 * 1024) }) }, 413, 'payload_too_large'],
    ];
    for (let round = 0; round < 2; round++) {
      for (const [options, status, code] of cases) {
        const reply = await w.call('POST', '/auth/login', options);
        assert.equal(reply.status, status, code);
        assert.equal(reply.json.error, code);
      }
    }
    assert.equal((await w.login('lisa', PASSWORDS.lisa, client)).status, 200);
    // and a cross-site form post is refused before anything
    const crossSite = await w.call('POST', '/auth/login', { json: { username: 'lisa', password: PASSWORDS.lisa }, headers: { origin: 'https://evil.example.com' } });
    assert.equal(crossSite.status, 403);
    assert.equal(crossSite.json.error, 'forbidden');
    assert.equal(crossSite.headers['set-cookie'], undefined);
  });

  test('with AUTH=proxy there is no sign-in here: 409 invalid_state', async (t) => {
    const w = await world(t, { AUTH: 'proxy' });
    const reply = await w.login('lisa', PASSWORDS.lisa);
    assert.equal(reply.status, 409);
    assert.equal(reply.json.error, 'invalid_state');
    assert.equal(reply.headers['set-cookie'], undefined);
  });
});
