// Sign-in that cannot be turned against people: failures from one address never lock the person out from
// another (also behind a trusted proxy, by the forwarded address), parallel guesses are counted before the
// password is checked (at most the limit of 401s, then 429), and an unknown name costs the same time as a
// wrong password.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { UserStore } from '../../shared/access/users.ts';
import { MAX_FAILED_SIGN_INS } from '../../supervisor/access/sign-in-limits.ts';
import { makeConfigDir } from '../helpers/config-dir.ts';
import { request } from '../helpers/http.ts';
import { startSupervisor, type RunningSupervisor } from '../helpers/supervisor.ts';

const PASSWORD = 'root-Pass-1234-right';

async function signInSupervisor(t: import('node:test').TestContext, env: Record<string, string> = {}): Promise<RunningSupervisor> {
  const config = await makeConfigDir({ profiles: ['a'] });
  await new UserStore(config.file('users.json')).add('root', { password: PASSWORD, admin: true });
  const sup = await startSupervisor({ config, env: { AUTH: 'local', ...env }, waitReady: [] });
  t.after(async () => {
    await sup.cleanup();
    await config.remove();
  });
  return sup;
}

const login = (sup: RunningSupervisor, password: string, options: { from?: string; forwardedFor?: string; username?: string } = {}) =>
  request(sup.port, 'POST', '/auth/login', {
    body: { username: options.username ?? 'root', password },
    ...(options.from ? { localAddress: options.from } : {}),
    ...(options.forwardedFor ? { headers: { 'x-forwarded-for': options.forwardedFor } } : {}),
  });

test('failed sign-ins from one address never lock the person out from another address', async (t) => {
  const sup = await signInSupervisor(t, { TRUSTED_PROXIES: '127.0.0.1' });
  for (let i = 0; i < MAX_FAILED_SIGN_INS; i++) assert.equal((await login(sup, 'wrong-password', { from: '127.0.0.2' })).status, 401);
  const locked = await login(sup, PASSWORD, { from: '127.0.0.2' });
  assert.equal(locked.status, 429, 'that address is paused, the right password included');
  assert.ok(Number(locked.headers['retry-after']) > 60);
  assert.equal((await login(sup, PASSWORD, { from: '127.0.0.3' })).status, 200, 'root signs in from another address');
  assert.equal((await login(sup, PASSWORD, { from: '127.0.0.1' })).status, 200, 'and from this machine');

  // Behind the trusted proxy (127.0.0.1 here), the address it forwarded for is the client's.
  for (let i = 0; i < MAX_FAILED_SIGN_INS; i++) assert.equal((await login(sup, 'wrong-password', { from: '127.0.0.1', forwardedFor: '198.51.100.7' })).status, 401);
  assert.equal((await login(sup, PASSWORD, { from: '127.0.0.1', forwardedFor: '198.51.100.7' })).status, 429);
  assert.equal((await login(sup, PASSWORD, { from: '127.0.0.1', forwardedFor: '198.51.100.8' })).status, 200, 'another client behind the same proxy');
  assert.equal((await login(sup, PASSWORD, { from: '127.0.0.1' })).status, 200, 'the proxy itself, for no one else');

  // An untrusted peer cannot dodge the pause by naming other addresses.
  for (let i = 0; i < MAX_FAILED_SIGN_INS; i++) assert.equal((await login(sup, 'wrong-password', { from: '127.0.0.4', forwardedFor: `203.0.113.${i}` })).status, 401);
  assert.equal((await login(sup, PASSWORD, { from: '127.0.0.4', forwardedFor: '203.0.113.200' })).status, 429);
});

test('parallel guesses are counted before the password is checked: at most the limit of 401s, then 429', async (t) => {
  const sup = await signInSupervisor(t);
  const answers = await Promise.all(Array.from({ length: 30 }, () => login(sup, 'wrong-password', { from: '127.0.0.5' })));
  const statuses = answers.map((a) => a.status).sort();
  assert.equal(statuses.filter((s) => s === 401).length, MAX_FAILED_SIGN_INS, `statuses: ${statuses.join(',')}`);
  assert.equal(statuses.filter((s) => s === 429).length, 30 - MAX_FAILED_SIGN_INS);
  assert.ok(answers.filter((a) => a.status === 429).every((a) => a.body.error === 'too_many_attempts' && Number(a.headers['retry-after']) >= 1));
});

test('an unknown name costs the same time as a wrong password: names cannot be told apart', async (t) => {
  const sup = await signInSupervisor(t, { TRUSTED_PROXIES: '127.0.0.1' });
  const timed = async (username: string, i: number) => {
    const started = performance.now();
    // each attempt from its own forwarded address: the pause after five failures does not come into it
    const reply = await login(sup, 'wrong-password', { username, forwardedFor: `198.18.${i >> 8}.${i & 255}` });
    assert.equal(reply.status, 401);
    assert.equal(reply.body.error, 'invalid_credentials', 'the same answer for both');
    return performance.now() - started;
  };
  const median = (xs: number[]) => xs.sort((a, b) => a - b)[xs.length >> 1]!;
  const known: number[] = [];
  const unknown: number[] = [];
  // interleaved, so that whatever else the machine does weighs on both alike
  for (let i = 0; i < 12; i++) {
    known.push(await timed('root', 2 * i));
    unknown.push(await timed(`nobody-${i}`, 2 * i + 1));
  }
  const ratio = median(known) / median(unknown);
  assert.ok(ratio > 0.5 && ratio < 2, `a wrong password takes ${median(known).toFixed(1)} ms, an unknown name ${median(unknown).toFixed(1)} ms (ratio ${ratio.toFixed(2)})`);
});
