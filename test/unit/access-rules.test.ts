// Who may do what (shared/access/access-rules.ts), the sign-in limits, the client's address behind a proxy, the Host
// check, the trusted proxies and when AUTH=none is allowed: decisions, without processes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { IncomingMessage } from 'node:http';
import { decide, profilesOf, type Action, type Asker } from '../../shared/access/access-rules.ts';
import { MAX_FAILED_SIGN_INS, SignInLimits } from '../../supervisor/access/sign-in-limits.ts';
import { trustedPeers } from '../../supervisor/access/trusted-peers.ts';
import { clientOf, isLoopbackAddress } from '../../supervisor/access/client-address.ts';
import { hostCheck } from '../../shared/http/host-check.ts';
import { loadSettings } from '../../shared/runtime/settings.ts';

const user = (name: string, profiles: string[], admin = false): Asker => ({ kind: 'user', user: { name, admin, profiles } });
const lisa = user('lisa', ['lisa.tat']);
const root = user('root', [], true);
const owned = new Set(['lisa.tat', 'bob.tat']);
const grantedToAnyone = (h: string) => owned.has(h);
const allowed = (asker: Asker, action: Action, handle: string | null = null) => decide(asker, action, handle, grantedToAnyone).allow;
const PROFILE_ACTIONS: Action[] = ['use', 'operate', 'switch', 'delete'];

test('a person reaches only their own profiles; the refusal says nothing of the other profile', () => {
  for (const action of PROFILE_ACTIONS) {
    assert.equal(allowed(lisa, action, 'lisa.tat'), true, action);
    const refused = decide(lisa, action, 'bob.tat', grantedToAnyone);
    const unknown = decide(lisa, action, 'no.such', grantedToAnyone);
    assert.deepEqual(refused, unknown, `${action}: the same answer whether the profile exists or not`);
    assert.equal(refused.allow || refused.status, 403);
  }
  assert.equal(allowed(lisa, 'signed-in'), true);
  assert.equal(allowed(lisa, 'admin'), false);
  assert.equal(allowed(lisa, 'metrics'), false);
  assert.deepEqual(profilesOf(lisa), ['lisa.tat']);
  assert.equal(profilesOf(root), 'all');
});

test("registering: a handle nobody has, or one's own; never another person's", () => {
  assert.equal(allowed(lisa, 'register', 'new.one'), true);
  assert.equal(allowed(lisa, 'register', 'lisa.tat'), true);
  assert.equal(allowed(lisa, 'register', 'bob.tat'), false);
  assert.equal(allowed(user('nobody', []), 'register', 'new.one'), true, 'a person with no profile yet may register one');
});

test('anonymous: only what is public, and /metrics from this machine itself; unknown proxy users alike', () => {
  for (const loopback of [true, false]) {
    const anonymous: Asker = { kind: 'anonymous', loopback };
    assert.equal(allowed(anonymous, 'public'), true);
    for (const action of ['signed-in', 'admin', 'register', ...PROFILE_ACTIONS] as Action[]) {
      const d = decide(anonymous, action, 'lisa.tat', grantedToAnyone);
      assert.equal(d.allow || d.status, 401, action);
    }
    assert.equal(allowed(anonymous, 'metrics'), loopback);
    const unknown = decide({ kind: 'unknown-user', name: 'carol', loopback }, 'use', 'lisa.tat', grantedToAnyone);
    assert.ok(!unknown.allow && unknown.code === 'unknown_user');
    assert.match(unknown.message, /npm run user -- add carol/);
    assert.equal(allowed({ kind: 'unknown-user', name: 'carol', loopback }, 'metrics'), loopback);
  }
});

test('admins and SUPERVISOR_TOKEN: everything; METRICS_TOKEN: /metrics only', () => {
  for (const asker of [root, { kind: 'admin-token' } as Asker]) {
    for (const action of ['admin', 'metrics', 'signed-in', 'register', ...PROFILE_ACTIONS] as Action[]) assert.equal(allowed(asker, action, 'bob.tat'), true, action);
  }
  const metrics: Asker = { kind: 'metrics-token' };
  assert.equal(allowed(metrics, 'metrics'), true);
  for (const action of ['admin', 'signed-in', 'register', ...PROFILE_ACTIONS] as Action[]) assert.equal(allowed(metrics, action, 'bob.tat'), false, action);
});

test('AUTH=none: this machine may do everything; SUPERVISOR_TOKEN, when set, for what manages profiles, whichever route; another machine nothing', () => {
  const local: Asker = { kind: 'local', loopback: true, tokenRequired: false };
  for (const action of ['admin', 'metrics', 'signed-in', 'register', ...PROFILE_ACTIONS] as Action[]) assert.equal(allowed(local, action, 'bob.tat'), true, action);
  const withoutToken: Asker = { kind: 'local', loopback: true, tokenRequired: true };
  for (const action of ['admin', 'operate', 'switch', 'delete'] as Action[]) {
    const d = decide(withoutToken, action, 'bob.tat', grantedToAnyone);
    assert.equal(d.allow || d.status, 401, action);
    assert.match(d.allow ? '' : d.message, /SUPERVISOR_TOKEN/);
  }
  for (const action of ['use', 'signed-in', 'register', 'metrics'] as Action[]) assert.equal(allowed(withoutToken, action, 'bob.tat'), true, action);
  const elsewhere: Asker = { kind: 'local', loopback: false, tokenRequired: false };
  for (const action of ['admin', 'metrics', 'signed-in', 'register', ...PROFILE_ACTIONS] as Action[]) {
    const d = decide(elsewhere, action, 'bob.tat', grantedToAnyone);
    assert.equal(d.allow || d.status, 403, action);
  }
  assert.equal(allowed(elsewhere, 'public'), true);
});

test('sign-in limits: the sixth attempt from an address within the window is refused, the right password included; another address is not', () => {
  let now = 0;
  const limits = new SignInLimits({ windowMs: 15 * 60_000, now: () => now });
  for (let i = 0; i < MAX_FAILED_SIGN_INS; i++) {
    const attempt = limits.begin('10.0.0.5');
    assert.ok('failed' in attempt, `attempt ${i + 1}`);
    attempt.failed();
    now += 1000;
  }
  const refused = limits.begin('10.0.0.5');
  assert.ok('retryAfterSeconds' in refused && refused.retryAfterSeconds > 800);
  assert.ok('failed' in limits.begin('10.0.0.9'), 'another address: the same person signs in from there');
  now += 15 * 60_000;
  assert.ok('failed' in limits.begin('10.0.0.5'), 'the window passed');
});

test('sign-in limits: an attempt counts from its start, so parallel guesses get at most the limit; one that succeeds frees its place', () => {
  const limits = new SignInLimits({ windowMs: 60_000, now: () => 0 });
  const taken = Array.from({ length: 30 }, () => limits.begin('10.0.0.5'));
  const started = taken.filter((a) => 'failed' in a);
  assert.equal(started.length, MAX_FAILED_SIGN_INS);
  assert.ok(taken.slice(MAX_FAILED_SIGN_INS).every((a) => 'retryAfterSeconds' in a && a.retryAfterSeconds >= 1));
  (started[0] as { succeeded(): void }).succeeded();
  assert.ok('failed' in limits.begin('10.0.0.5'), 'a success frees its place');
});

const request = (remoteAddress: string, headers: Record<string, string> = {}) => ({ socket: { remoteAddress }, headers }) as unknown as IncomingMessage;

test("the client's address: the peer, or behind a trusted proxy the address it forwarded for; loopback only when nobody forwarded it", () => {
  const trusted = trustedPeers(['127.0.0.0/8', '::1', '10.9.0.0/16']);
  assert.deepEqual(clientOf(request('127.0.0.1'), trusted), { address: '127.0.0.1', loopback: true });
  assert.deepEqual(clientOf(request('127.0.0.1', { 'x-forwarded-for': '203.0.113.7' }), trusted), { address: '203.0.113.7', loopback: false });
  assert.deepEqual(clientOf(request('127.0.0.1', { 'x-forwarded-for': '127.0.0.1' }), trusted), { address: '127.0.0.1', loopback: true }, 'a local client through a local proxy');
  // read from the right, skipping the trusted proxies: what a client wrote itself on the left is not believed
  assert.deepEqual(clientOf(request('127.0.0.1', { 'x-forwarded-for': '127.0.0.1, 198.51.100.4, 10.9.1.1' }), trusted), { address: '198.51.100.4', loopback: false });
  assert.equal(clientOf(request('127.0.0.1', { 'x-forwarded-for': 'garbage' }), trusted).loopback, false);
  assert.equal(clientOf(request('127.0.0.1', { forwarded: 'for=203.0.113.7' }), trusted).loopback, false, 'a forwarded request the supervisor cannot read is not this machine');
  assert.equal(clientOf(request('127.0.0.1', { 'x-real-ip': '203.0.113.7' }), trusted).loopback, false);
  // an untrusted peer's forwarding headers are not believed, and do not make it this machine either
  assert.deepEqual(clientOf(request('192.0.2.1', { 'x-forwarded-for': '127.0.0.1' }), trusted), { address: '192.0.2.1', loopback: false });
  assert.deepEqual(clientOf(request('127.0.0.1', { 'x-forwarded-for': '127.0.0.1' }), trustedPeers(['10.0.0.1'])), { address: '127.0.0.1', loopback: false });
});

test('isLoopbackAddress: 127.0.0.0/8, ::1 and their IPv4-mapped forms, nothing else', () => {
  for (const address of ['127.0.0.1', '127.1.2.3', '127.255.255.254', '::1', '::ffff:127.0.0.1', '::ffff:127.9.9.9']) assert.equal(isLoopbackAddress(address), true, address);
  const outside = ['10.0.0.1', '172.16.5.4', '192.168.1.10', '0.0.0.0', '128.0.0.1', '::', '::2', 'fe80::1', '2001:db8::1', '::ffff:10.0.0.1', '64:ff9b::7f00:1', '::127.0.0.1', '127.example.com', 'localhost', '', undefined];
  for (const address of outside) assert.equal(isLoopbackAddress(address), false, String(address));
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
