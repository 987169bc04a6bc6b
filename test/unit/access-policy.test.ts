// Who may do what (supervisor/access-policy.ts), the sign-in limits, the Host check, the trusted proxies and
// when AUTH=none is allowed: decisions, without processes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decide, profilesOf, type Wanted } from '../../supervisor/access-policy.ts';
import type { Identity } from '../../supervisor/identity.ts';
import { MAX_FAILED_SIGN_INS, SignInLimits } from '../../supervisor/sign-in-limits.ts';
import { trustedPeers } from '../../supervisor/trusted-peers.ts';
import { wantedOf } from '../../supervisor/app-access.ts';
import { hostCheck } from '../../shared/host-check.ts';
import { loadSettings } from '../../shared/settings.ts';
import type { UserRecord } from '../../shared/users.ts';

const user = (name: string, profiles: string[], admin = false): UserRecord => ({ name, admin, profiles, current: profiles[0] ?? null, password: null, password_changed_at: new Date(0).toISOString(), tokens: [] });
const lisa = user('lisa', ['lisa.tat']);
const bob = user('bob', ['bob.tat']);
const root = user('root', [], true);
const owners = new Map([['lisa.tat', lisa], ['bob.tat', bob]]);
const ownerOf = (h: string) => owners.get(h);
const as = (u: UserRecord): Identity => ({ kind: 'user', user: u, via: 'session' });
const allowed = (identity: Identity, wanted: Wanted) => decide(identity, wanted, ownerOf).allow;

test('a person reaches only their own profiles; the refusal says nothing of the other profile', () => {
  assert.equal(allowed(as(lisa), { kind: 'profile', handle: 'lisa.tat' }), true);
  const refused = decide(as(lisa), { kind: 'profile', handle: 'bob.tat' }, ownerOf);
  const unknown = decide(as(lisa), { kind: 'profile', handle: 'no.such' }, ownerOf);
  assert.deepEqual(refused, unknown, 'the same answer whether the profile exists or not');
  assert.equal(refused.allow || refused.status, 403);
  for (const kind of ['switch', 'delete', 'worker'] as const) {
    assert.equal(allowed(as(lisa), { kind, handle: 'lisa.tat' }), true, kind);
    assert.equal(allowed(as(lisa), { kind, handle: 'bob.tat' }), false, kind);
  }
});

test("registering: a handle nobody has, or one's own; never another person's", () => {
  assert.equal(allowed(as(lisa), { kind: 'register', handle: 'new.one' }), true);
  assert.equal(allowed(as(lisa), { kind: 'register', handle: 'lisa.tat' }), true);
  assert.equal(allowed(as(lisa), { kind: 'register', handle: 'bob.tat' }), false);
  assert.equal(allowed(as(lisa), { kind: 'check-credentials', handle: 'bob.tat' }), false);
  assert.equal(allowed(as(lisa), { kind: 'check-credentials', handle: 'new.one' }), true);
});

test('anonymous: only the public routes (and /metrics from loopback); admins and SUPERVISOR_TOKEN: everything; AUTH=none: everything', () => {
  const anonymous: Identity = { kind: 'anonymous' };
  assert.equal(allowed(anonymous, { kind: 'public' }), true);
  for (const wanted of [{ kind: 'signed-in' }, { kind: 'api' }, { kind: 'workers' }, { kind: 'admin' }, { kind: 'profile', handle: 'lisa.tat' }] as Wanted[]) {
    const d = decide(anonymous, wanted, ownerOf);
    assert.equal(d.allow || d.status, 401, wanted.kind);
  }
  assert.equal(allowed(anonymous, { kind: 'metrics', loopbackPeer: true }), true);
  assert.equal(allowed(anonymous, { kind: 'metrics', loopbackPeer: false }), false);
  for (const identity of [as(root), { kind: 'admin-token' } as Identity, { kind: 'local' } as Identity]) {
    for (const wanted of [{ kind: 'admin' }, { kind: 'profile', handle: 'bob.tat' }, { kind: 'metrics', loopbackPeer: false }] as Wanted[]) assert.equal(allowed(identity, wanted), true);
  }
  assert.equal(allowed(as(lisa), { kind: 'admin' }), false);
  assert.equal(allowed(as(lisa), { kind: 'metrics', loopbackPeer: false }), false);
  assert.deepEqual(profilesOf(as(lisa)), ['lisa.tat']);
  assert.equal(profilesOf(as(root)), 'all');
});

test('a name from the proxy that no user has: 403 unknown_user, telling the admin how to add it', () => {
  const d = decide({ kind: 'unknown-user', name: 'carol' }, { kind: 'api' }, ownerOf);
  assert.ok(!d.allow);
  assert.equal(d.code, 'unknown_user');
  assert.match(d.message, /npm run user -- add carol/);
});

test('the supervisor\'s routes by family', () => {
  assert.equal(wantedOf('GET', '/login', false).kind, 'public');
  assert.equal(wantedOf('POST', '/auth/login', false).kind, 'public');
  assert.equal(wantedOf('GET', '/assets/dashboard.js', false).kind, 'signed-in');
  assert.equal(wantedOf('GET', '/admin', false).kind, 'admin');
  assert.equal(wantedOf('POST', '/supervisor/api/current', false).kind, 'admin');
  assert.equal(wantedOf('DELETE', '/supervisor/api/users/lisa', false).kind, 'admin');
  assert.deepEqual(wantedOf('POST', '/supervisor/api/workers/lisa.tat/restart', false), { kind: 'worker', handle: 'lisa.tat' });
  assert.deepEqual(wantedOf('DELETE', '/supervisor/api/profiles/lisa.tat', false), { kind: 'delete', handle: 'lisa.tat' });
  assert.deepEqual(wantedOf('GET', '/metrics', true), { kind: 'metrics', loopbackPeer: true });
});

test('sign-in limits: the sixth attempt within the window is refused, the right password included, until the window passes', () => {
  let now = 0;
  const limits = new SignInLimits({ windowMs: 15 * 60_000, now: () => now });
  const keys = ['name:lisa', 'address:10.0.0.5'];
  for (let i = 0; i < MAX_FAILED_SIGN_INS; i++) {
    assert.equal(limits.retryAfterSeconds(keys), 0);
    limits.failed(keys);
    now += 1000;
  }
  assert.ok(limits.retryAfterSeconds(keys) > 0);
  assert.ok(limits.retryAfterSeconds(['name:someone-else', 'address:10.0.0.5']) > 0, 'the same address, another name');
  assert.ok(limits.retryAfterSeconds(['name:lisa', 'address:10.0.0.9']) > 0, 'the same name, another address');
  assert.equal(limits.retryAfterSeconds(['name:bob', 'address:10.0.0.9']), 0);
  now += 15 * 60_000;
  assert.equal(limits.retryAfterSeconds(keys), 0, 'the window passed');
});

test('Host check: PUBLIC_URL\'s host, loopback names and ALLOWED_HOSTS, on any port; nothing else', () => {
  const allowedHost = hostCheck({ PUBLIC_URL: 'https://tat.example.com', ALLOWED_HOSTS: ['tat-lan.local'] });
  for (const host of ['tat.example.com', 'TAT.example.com:443', 'localhost:5000', '127.0.0.1:8080', '[::1]:5000', 'tat-lan.local:5000']) assert.equal(allowedHost(host), true, host);
  for (const host of ['evil.example:5000', 'tat.example.com.evil.example', '127.0.0.2:5000', '', undefined]) assert.equal(allowedHost(host), false, String(host));
});

test('trusted proxies: addresses and CIDR ranges, IPv4-mapped forms too', () => {
  const trusted = trustedPeers(['127.0.0.1', '10.1.0.0/16', '::1']);
  for (const a of ['127.0.0.1', '::ffff:127.0.0.1', '10.1.2.3', '::1']) assert.equal(trusted(a), true, a);
  for (const a of ['127.0.0.2', '10.2.0.1', undefined]) assert.equal(trusted(a), false, String(a));
});

test('AUTH: none by default only on loopback with a localhost PUBLIC_URL; an explicit none elsewhere stops the start, naming the setting', async () => {
  const auth = async (env: Record<string, string>) => (await loadSettings('/nonexistent', env)).settings.AUTH;
  assert.equal(await auth({}), 'none');
  assert.equal(await auth({ HOST: '0.0.0.0' }), 'local');
  assert.equal(await auth({ PUBLIC_URL: 'https://tat.example.com' }), 'local');
  assert.equal(await auth({ HOST: '0.0.0.0', AUTH: 'proxy' }), 'proxy');
  await assert.rejects(loadSettings('/nonexistent', { HOST: '0.0.0.0', AUTH: 'none' }), /environment variable AUTH: AUTH=none is refused while HOST is 0\.0\.0\.0/);
  await assert.rejects(loadSettings('/nonexistent', { PUBLIC_URL: 'https://tat.example.com', AUTH: 'none' }), /AUTH=none is refused/);
});

test('TRUSTED_PROXIES takes addresses and CIDR ranges only, and says which variable is wrong', async () => {
  await assert.rejects(loadSettings('/nonexistent', { TRUSTED_PROXIES: '127.0.0.1,proxy.example' }), /environment variable TRUSTED_PROXIES: must be IP addresses or CIDR ranges/);
  assert.deepEqual((await loadSettings('/nonexistent', { TRUSTED_PROXIES: '10.0.0.0/8, ::1' })).settings.TRUSTED_PROXIES, ['10.0.0.0/8', '::1']);
});
