// People and access with AUTH=local, real processes: the access matrix over every route family × who is
// asking; DNS-rebinding requests refused with nothing changed (in every mode); two people switching at once;
// the lockout and its end; session ids new at every sign-in, expiry, and a password change ending old
// sessions; registering gives the new profile to its registrant; no password, hash, token or session id in
// any answer or log line.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { PROJECT_ROOT } from '../../shared/profiles/paths.ts';
import { UserStore } from '../../shared/access/users.ts';
import { makeConfigDir, type TestConfigDir } from '../helpers/config-dir.ts';
import { waitFor } from '../helpers/processes.ts';
import { request, type Reply } from '../helpers/http.ts';
import { startSupervisor, type RunningSupervisor } from '../helpers/supervisor.ts';

const PASSWORDS = { lisa: 'lisa-Pass-1234', bob: 'bob-Pass-5678', root: 'root-Pass-9012' };
const SUPERVISOR_TOKEN = 'supervisor-token-Access-77';
const MIS = { a: 'lisa-mis@theartisttree.com', b: 'bob-mis@theartisttree.com', aPassword: 'mis-secret-A-1', bPassword: 'mis-secret-B-2' };

interface World {
  sup: RunningSupervisor;
  config: TestConfigDir;
  users: UserStore;
  /** Everything any answer said, for the secrets check. */
  answers: string[];
  call(method: string, path: string, options?: { headers?: Record<string, string>; body?: unknown; port?: number }): Promise<Reply>;
  signIn(name: keyof typeof PASSWORDS): Promise<string>;
}

async function world(t: import('node:test').TestContext, env: Record<string, string> = {}): Promise<World> {
  const config = await makeConfigDir({ profiles: ['a', 'b', 'c'] });
  await config.writeJson('blaze_configs/blaze_config_a.json', { mis_username: MIS.a, mis_password: MIS.aPassword });
  await config.writeJson('blaze_configs/blaze_config_b.json', { mis_username: MIS.b, mis_password: MIS.bPassword });
  const users = new UserStore(config.file('users.json'));
  await users.add('lisa', { password: PASSWORDS.lisa, profiles: ['a'] });
  await users.add('bob', { password: PASSWORDS.bob, profiles: ['b'] });
  await users.add('root', { password: PASSWORDS.root, admin: true });
  const sup = await startSupervisor({ config, env: { AUTH: 'local', SUPERVISOR_TOKEN, ...env }, waitReady: ['a', 'b', 'c'] });
  t.after(async () => {
    await sup.cleanup();
    await config.remove();
  });
  const answers: string[] = [];
  const call: World['call'] = async (method, p, options = {}) => {
    const reply = await request(options.port ?? sup.port, method, p, { headers: options.headers, body: options.body });
    // Set-Cookie carries the new session's id to its owner: the one place it must be.
    const { 'set-cookie': _cookie, ...headers } = reply.headers;
    answers.push(JSON.stringify(headers), reply.text);
    return reply;
  };
  const signIn = async (name: keyof typeof PASSWORDS) => {
    const r = await call('POST', '/auth/login', { body: { username: name, password: PASSWORDS[name] } });
    assert.equal(r.status, 200, r.text);
    const cookie = String(r.headers['set-cookie']);
    assert.match(cookie, /^tat_session=[^;]+; HttpOnly; SameSite=Lax; Path=\//);
    return cookie.split(';')[0]!;
  };
  return { sup, config, users, answers, call, signIn };
}

test('the access matrix: every route family × anonymous, another person, the owner, an admin, a token, a revoked token', async (t) => {
  const w = await world(t);
  const lisaCookie = await w.signIn('lisa');
  const bobCookie = await w.signIn('bob');
  const rootCookie = await w.signIn('root');
  const { token: lisaToken } = await w.users.createToken('lisa', 'matrix');
  const revoked = await w.users.createToken('lisa', 'revoked');
  const { token: rootToken } = await w.users.createToken('root', 'admin');
  await w.users.revokeToken('lisa', revoked.id);
  await waitFor(
    'the supervisor to see the token changes',
    async () =>
      (await w.call('GET', '/auth/me', { headers: { authorization: `Bearer ${lisaToken}` } })).status === 200 &&
      (await w.call('GET', '/auth/me', { headers: { authorization: `Bearer ${revoked.token}` } })).status === 401,
    5000,
  );
  const direct = (await w.sup.worker('a'))!.port;

  const who: Record<string, Record<string, string>> = {
    anonymous: {},
    other: { cookie: bobCookie },
    owner: { cookie: lisaCookie },
    admin: { cookie: rootCookie },
    token: { authorization: `Bearer ${lisaToken}` },
    revoked: { authorization: `Bearer ${revoked.token}` },
    'supervisor token': { authorization: `Bearer ${SUPERVISOR_TOKEN}` },
  };
  const routes: { name: string; method: string; path: string; body?: unknown; port?: number; expect: Record<string, number> }[] = [
    { name: 'worker API via /p/<h>/', method: 'GET', path: '/p/a/api/get-credentials', expect: { anonymous: 401, other: 403, owner: 200, admin: 200, token: 200, revoked: 401, 'supervisor token': 200 } },
    { name: 'worker API write via /p/<h>/', method: 'POST', path: '/p/a/api/save-profile-credentials', body: { google_sheet_url: 'https://docs.google.com/spreadsheets/d/matrix' }, expect: { anonymous: 401, other: 403, owner: 200, admin: 200, token: 200, revoked: 401, 'supervisor token': 200 } },
    { name: 'unprefixed /api/…', method: 'GET', path: '/api/get-credentials', expect: { anonymous: 401, other: 200, owner: 200, admin: 200, token: 200, revoked: 401, 'supervisor token': 200 } },
    { name: 'supervisor API, one worker', method: 'GET', path: '/supervisor/api/workers/a', expect: { anonymous: 401, other: 403, owner: 200, admin: 200, token: 200, revoked: 401, 'supervisor token': 200 } },
    { name: 'supervisor API, the global current profile', method: 'POST', path: '/supervisor/api/current', body: { handle: 'a' }, expect: { anonymous: 401, other: 403, owner: 403, admin: 200, token: 403, revoked: 401, 'supervisor token': 200 } },
    { name: 'the admin API', method: 'GET', path: '/supervisor/api/users', expect: { anonymous: 401, other: 403, owner: 403, admin: 200, token: 403, revoked: 401, 'supervisor token': 200 } },
    // From loopback, where a local Prometheus scrapes it: open to everyone.
    { name: '/metrics (loopback peer)', method: 'GET', path: '/metrics', expect: { anonymous: 200, other: 200, owner: 200, admin: 200, token: 200, revoked: 200, 'supervisor token': 200 } },
    { name: "a worker's direct port", method: 'GET', path: '/api/get-credentials', port: direct, expect: { anonymous: 401, other: 401, owner: 401, admin: 401, token: 401, revoked: 401, 'supervisor token': 200 } },
  ];
  const failures: string[] = [];
  for (const route of routes) {
    for (const [identity, headers] of Object.entries(who)) {
      const r = await w.call(route.method, route.path, { headers, body: route.body, port: route.port });
      if (r.status !== route.expect[identity]) failures.push(`${route.name} as ${identity}: ${r.status}, expected ${route.expect[identity]} (${r.text.slice(0, 160)})`);
      // Nothing of a profile the person may not use: not its MIS user name, not its handle's data.
      const mayA = ['owner', 'admin', 'token', 'supervisor token'].includes(identity);
      if (!mayA && r.text.includes(MIS.a)) failures.push(`${route.name} as ${identity}: the answer holds a's MIS user name`);
      if (identity !== 'other' && !['admin', 'supervisor token'].includes(identity) && r.text.includes(MIS.b)) failures.push(`${route.name} as ${identity}: the answer holds b's MIS user name`);
    }
  }
  assert.deepEqual(failures, []);
  const adminDirect = await w.call('GET', '/api/get-credentials', { port: direct, headers: { authorization: `Bearer ${rootToken}` } });
  assert.equal(adminDirect.status, 200, "an admin's own API token opens the direct port");

  // A page navigation without a sign-in goes to the sign-in page, and `next` brings it back.
  const page = await w.call('GET', '/p/a/', { headers: { accept: 'text/html' } });
  assert.equal(page.status, 303);
  assert.equal(page.headers.location, '/login?next=%2Fp%2Fa%2F');
  assert.equal((await w.call('GET', '/login', { headers: { accept: 'text/html' } })).status, 200);
  // The lists show only what the person may use.
  const bobList = await w.call('GET', '/supervisor/api/workers', { headers: { cookie: bobCookie } });
  assert.deepEqual(bobList.body.workers.map((x: { handle: string }) => x.handle), ['b']);
  const bobProfiles = await w.call('GET', '/p/b/api/profiles', { headers: { cookie: bobCookie } });
  assert.deepEqual(bobProfiles.body.profiles.map((p: { handle: string }) => p.handle), ['b']);
  assert.deepEqual((await w.call('GET', '/auth/me', { headers: { cookie: lisaCookie } })).body, { success: true, username: 'lisa', admin: false, profiles: ['a'], current: 'a', auth: 'local' });

  // Every state-changing request was audited once, with who made it.
  const audits = w.sup.proc.lines.filter((l) => l.audit === true && l.path === '/p/a/api/save-profile-credentials'.replace('/p/a', '') && l.method === 'POST');
  assert.ok(audits.some((l) => l.user === 'lisa' && l.profile === 'a' && l.status === 200), JSON.stringify(audits));
  assertNoSecrets(w, [lisaToken, revoked.token, rootToken, lisaCookie.split('=')[1]!, bobCookie.split('=')[1]!, rootCookie.split('=')[1]!]);
});

test('DNS rebinding: another site\'s Host is refused (421) with nothing changed, with sign-in and without', async (t) => {
  for (const env of [{}, { AUTH: 'none' }] as Record<string, string>[]) {
    const w = await world(t, env);
    const cookie = env.AUTH === 'none' ? '' : await w.signIn('lisa');
    const before = await w.config.readJson('blaze_configs/blaze_config_a.json');
    const evil = { host: `evil.example:${w.sup.port}`, origin: `http://evil.example:${w.sup.port}`, ...(cookie ? { cookie } : {}) };
    const save = await w.call('POST', '/p/a/api/save-profile-credentials', { headers: evil, body: { mis_username: 'attacker@evil.example' } });
    assert.equal(save.status, 421, save.text);
    assert.equal(save.body.error, 'host_not_allowed');
    const stop = await w.call('POST', '/supervisor/api/workers/a/stop', { headers: evil });
    assert.equal(stop.status, 421);
    const direct = await w.call('POST', '/api/save-profile-credentials', { port: (await w.sup.worker('a'))!.port, headers: evil, body: { mis_username: 'attacker@evil.example' } });
    assert.equal(direct.status, 421, "a worker's direct port checks Host too");
    assert.deepEqual(await w.config.readJson('blaze_configs/blaze_config_a.json'), before);
    assert.equal((await w.sup.worker('a'))!.state, 'ready');
    await w.sup.cleanup();
  }
});

test('two people switching at the same time each keep their own current profile; a switch moves no one else', async (t) => {
  const w = await world(t);
  const lisa = await w.signIn('lisa');
  const bob = await w.signIn('bob');
  await w.users.grant('lisa', 'c');
  await w.users.grant('bob', 'c');
  await waitFor('the supervisor to see the new grants', async () => (await w.call('GET', '/auth/me', { headers: { cookie: bob } })).body.profiles.includes('c'), 5000);
  const a = (await w.sup.worker('a'))!;
  const [toC, toB] = await Promise.all([
    w.call('POST', '/api/profile/switch', { headers: { cookie: lisa }, body: { handle: 'c' } }),
    w.call('POST', '/api/profile/switch', { headers: { cookie: bob }, body: { handle: 'c' } }),
  ]);
  assert.equal(toC.status, 200, toC.text);
  assert.equal(toC.body.requires_restart, true);
  assert.equal(toB.status, 200, toB.text);
  assert.equal((await w.call('GET', '/api/profile/current', { headers: { cookie: lisa } })).body.handle, 'c');
  assert.equal((await w.call('POST', '/api/profile/switch', { headers: { cookie: bob }, body: { handle: 'b' } })).status, 200);
  assert.equal((await w.call('GET', '/api/profile/current', { headers: { cookie: bob } })).body.handle, 'b');
  assert.equal((await w.call('GET', '/api/profile/current', { headers: { cookie: lisa } })).body.handle, 'c', "bob's switch did not move lisa");
  assert.equal((await w.call('POST', '/api/profile/switch', { headers: { cookie: lisa }, body: { handle: 'b' } })).status, 403, "nobody switches to another person's profile");
  assert.equal((await w.sup.worker('a'))!.pid, a.pid, 'no worker restarted');
  assert.equal(await w.sup.current(), 'a', 'the global current profile (AUTH=none\'s) is untouched');
});

test('registering a free handle grants it to its registrant; another person\'s handle is refused', async (t) => {
  const w = await world(t);
  await w.config.addCredentials('lisa.new');
  const lisa = await w.signIn('lisa');
  const bob = await w.signIn('bob');
  const taken = await w.call('POST', '/api/profile/register', { headers: { cookie: bob }, body: { handle: 'a' } });
  assert.equal(taken.status, 403, taken.text);
  const check = await w.call('GET', '/api/profile/check-credentials/a', { headers: { cookie: bob } });
  assert.equal(check.status, 403);
  const made = await w.call('POST', '/api/profile/register', { headers: { cookie: lisa }, body: { handle: 'lisa.new' } });
  assert.equal(made.status, 201, made.text);
  await waitFor('lisa to be granted lisa.new', () => w.users.find('lisa')?.profiles.includes('lisa.new') ?? false, 3000);
  assert.ok(w.sup.proc.lines.some((l) => l.msg === 'profile registered' && l.user === 'lisa' && l.target === 'lisa.new'), "the worker's own line says who registered it");
  await w.sup.waitForState('lisa.new', 'ready', 15_000);
  assert.equal((await w.call('GET', '/p/lisa.new/api/profile/current', { headers: { cookie: lisa } })).status, 200);
  assert.equal((await w.call('GET', '/p/lisa.new/api/profile/current', { headers: { cookie: bob } })).status, 403);
  const del = await w.call('POST', '/p/b/api/profile/delete', { headers: { cookie: bob }, body: { handle: 'a' } });
  assert.equal(del.status, 403, 'delete: the owner or an admin only');
  assert.equal(await w.config.exists('tokens/token_a.json'), true);
});

test('sign-in: one answer for a wrong password and an unknown name; the lockout and its end; new ids; expiry; logout; a password change ends old sessions', async (t) => {
  const w = await world(t, { AUTH_LOCKOUT_MS: '3000', AUTH_SESSION_TTL_MS: '4000' });
  const wrong = await w.call('POST', '/auth/login', { body: { username: 'lisa', password: 'not her password' } });
  const unknown = await w.call('POST', '/auth/login', { body: { username: 'nobody', password: 'not her password' } });
  assert.equal(wrong.status, 401);
  assert.deepEqual(unknown.body, wrong.body);
  assert.equal(wrong.body.error, 'invalid_credentials');

  for (let i = 0; i < 4; i++) await w.call('POST', '/auth/login', { body: { username: 'lisa', password: 'still wrong' } });
  const locked = await w.call('POST', '/auth/login', { body: { username: 'lisa', password: PASSWORDS.lisa } });
  assert.equal(locked.status, 429, 'the right password is refused too while locked');
  assert.equal(locked.body.error, 'too_many_attempts');
  assert.ok(Number(locked.headers['retry-after']) > 0);
  await waitFor('the lockout window to pass', async () => (await w.call('POST', '/auth/login', { body: { username: 'lisa', password: PASSWORDS.lisa } })).status === 200, 10_000);

  const first = await w.signIn('bob');
  const second = await w.signIn('bob');
  assert.notEqual(first, second, 'a new session id at every sign-in');
  const withOld = await w.call('POST', '/auth/login', { headers: { cookie: first }, body: { username: 'bob', password: PASSWORDS.bob } });
  assert.notEqual(String(withOld.headers['set-cookie']).split(';')[0], first, 'the id the client brings is never kept');
  assert.equal((await w.call('GET', '/auth/me', { headers: { cookie: first } })).status, 401, 'and it ended');
  assert.equal((await w.call('POST', '/auth/logout', { headers: { cookie: second } })).status, 200);
  assert.equal((await w.call('GET', '/auth/me', { headers: { cookie: second } })).status, 401, 'logout ends the session');

  const beforeChange = await w.signIn('bob');
  const viaCli = spawnSync(process.execPath, [path.join(PROJECT_ROOT, 'scripts', 'start.mjs'), 'user', 'passwd', 'bob'], { input: 'bob-New-Pass-00\n', env: { ...process.env, TAT_CONFIG_DIR: w.config.dir }, encoding: 'utf8' });
  assert.equal(viaCli.status, 0, viaCli.stderr);
  await waitFor('the password change to end the old session', async () => (await w.call('GET', '/auth/me', { headers: { cookie: beforeChange } })).status === 401, 5000);
  const expiring = await w.signIn('root');
  assert.equal((await w.call('GET', '/auth/me', { headers: { cookie: expiring } })).status, 200);
  await waitFor('the session to expire', async () => (await w.call('GET', '/auth/me', { headers: { cookie: expiring } })).status === 401, 10_000);
  assertNoSecrets(w, [beforeChange.split('=')[1]!, expiring.split('=')[1]!, first.split('=')[1]!]);
});

test('the command line: add reads the password from standard input, refuses a short one, lists without secrets', async (t) => {
  const config = await makeConfigDir();
  t.after(() => config.remove());
  const user = (args: string[], input = '') =>
    spawnSync(process.execPath, [path.join(PROJECT_ROOT, 'scripts', 'start.mjs'), 'user', ...args], { input, env: { ...process.env, TAT_CONFIG_DIR: config.dir }, encoding: 'utf8' });
  const short = user(['add', 'lisa'], 'short\n');
  assert.equal(short.status, 1);
  assert.match(short.stderr, /at least 8 characters/);
  assert.equal(user(['add', 'lisa', '--profile', 'lisa.tat', '--profile', 'store-la'], 'long enough pass\n').status, 0);
  assert.equal(user(['add', 'root', '--admin'], 'root enough pass\n').status, 0);
  const token = user(['token', 'lisa', '--label', 'cron']);
  assert.equal(token.status, 0);
  const value = token.stdout.split('\n')[0]!;
  assert.match(value, /^tat_/);
  const list = user(['list']);
  assert.match(list.stdout, /lisa\tprofiles: lisa\.tat, store-la\ttokens: [0-9a-f]+ cron/);
  assert.match(list.stdout, /root \(admin\)/);
  assert.ok(!list.stdout.includes(value) && !list.stdout.includes('long enough pass'));
  assert.equal(user(['revoke', 'lisa', 'store-la']).status, 0);
  assert.equal(user(['grant', 'lisa', 'NOT A HANDLE']).status, 64);
  assert.equal(user(['remove', 'lisa']).status, 0);
  assert.equal(user(['remove', 'lisa']).status, 1);
  assert.equal((await import('node:fs')).statSync(config.file('users.json')).mode & 0o777, 0o600);
});

test('AUTH=none on a non-loopback HOST: the supervisor refuses to start, naming the setting', async () => {
  const config = await makeConfigDir();
  try {
    const r = spawnSync(process.execPath, [path.join(PROJECT_ROOT, 'dist', 'supervisor', 'main.js')], {
      env: { PATH: process.env.PATH ?? '', TAT_CONFIG_DIR: config.dir, HOST: '0.0.0.0', AUTH: 'none', PORT: '0' },
      encoding: 'utf8',
      timeout: 20_000,
    });
    assert.equal(r.status, 78, r.stderr);
    assert.match(r.stderr, /environment variable AUTH: AUTH=none is refused while HOST is 0\.0\.0\.0/);
  } finally {
    await config.remove();
  }
});

/** No password, hash, token or session id in any answer or any line the supervisor and its workers wrote. */
function assertNoSecrets(w: World, extra: string[]) {
  const hashes = w.users.list().flatMap((u) => [u.password?.hash ?? '', u.password?.salt ?? '', ...u.tokens.map((t) => t.hash)]).filter(Boolean);
  const secrets = [...Object.values(PASSWORDS), SUPERVISOR_TOKEN, MIS.aPassword, MIS.bPassword, ...hashes, ...extra];
  const places = [...w.answers, w.sup.proc.output()];
  const found = secrets.filter((s) => places.some((p) => p.includes(s)));
  assert.deepEqual(found, [], 'secrets in answers or logs');
}
