// What the landing pages decide, without processes: which page a proxy error or a missing profile becomes,
// what it says, and which buttons it offers to whom (AUTH=none: loopback, or the supervisor token).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { IncomingMessage } from 'node:http';
import { makeConfigDir } from '../helpers/config-dir.ts';
import { createLogger } from '../../shared/runtime/logger.ts';
import { ProfileStore } from '../../shared/profiles/profile-store.ts';
import { loadSettings } from '../../shared/runtime/settings.ts';
import type { Handle } from '../../shared/profiles/handle.ts';
import { Gate } from '../../supervisor/access/gate.ts';
import { Identities } from '../../supervisor/access/identity.ts';
import { LandingPages } from '../../supervisor/web/landing-pages.ts';
import { UserStore } from '../../shared/access/users.ts';

const silent = createLogger({ level: 'silent' });
const from = (remoteAddress: string, headers: Record<string, string> = {}) => ({ socket: { remoteAddress }, headers, url: '/p/a/x', method: 'GET' }) as unknown as IncomingMessage;

async function pagesFor(env: Record<string, string> = {}) {
  const config = await makeConfigDir({ profiles: ['a'] });
  const { settings } = await loadSettings(config.dir, env);
  const gate = new Gate({ identities: new Identities({ settings, users: new UserStore(`${config.dir}/users.json`), signIns: null }), log: silent });
  const pages = new LandingPages({ store: new ProfileStore(config.dir, silent), settings, mayDo: (req, action, handle) => gate.mayDo(req, action, handle) });
  return { config, pages };
}

const buttons = (page: { actions?: { label: string }[] }) => (page.actions ?? []).map((a) => a.label);

test('a stopped worker: Start for loopback, none from elsewhere or without the token', async (t) => {
  const { config, pages } = await pagesFor();
  t.after(() => config.remove());
  const stopped = { status: 503, code: 'worker_unavailable' as const, message: 'stopped', extra: { handle: 'a', state: 'stopped' } };
  assert.deepEqual(buttons(await pages.proxyError(from('127.0.0.1'), stopped)), ['Start it', 'All profiles']);
  const remote = await pages.proxyError(from('10.1.2.3'), stopped);
  assert.deepEqual(buttons(remote), ['All profiles']);
  assert.match(remote.steps!.join(' '), /Ask whoever manages this server/);

  const withToken = await pagesFor({ SUPERVISOR_TOKEN: 'tok-123456' });
  t.after(() => withToken.config.remove());
  const refused = await withToken.pages.proxyError(from('127.0.0.1'), stopped);
  assert.deepEqual(buttons(refused), ['All profiles']);
  assert.match(refused.steps!.join(' '), /SUPERVISOR_TOKEN/);
  assert.deepEqual(buttons(await withToken.pages.proxyError(from('127.0.0.1', { authorization: 'Bearer tok-123456' }), stopped)), ['Start it', 'All profiles']);
});

test('an errored worker: last exit, problem, readable lines, Restart and its logs', async (t) => {
  const { config, pages } = await pagesFor();
  t.after(() => config.remove());
  const line = JSON.stringify({ level: 50, time: Date.now(), msg: 'port in use', port: 65535 });
  const page = await pages.proxyError(from('127.0.0.1'), {
    status: 503,
    code: 'worker_unavailable',
    message: 'errored',
    extra: { handle: 'a', state: 'errored', last_exit: { code: 75, signal: null, at: new Date().toISOString(), reason: 'port_conflict', summary: 'code 75 (port conflict)' }, problem: { message: 'port 65535 is in use' }, last_log_lines: [line, line] },
  });
  assert.equal(page.title, '"a" keeps crashing');
  const facts = Object.fromEntries(page.facts!);
  assert.match(facts['Last exit']!, /^code 75 \(port conflict\) at /);
  assert.equal(facts.Problem, 'port 65535 is in use');
  assert.deepEqual(page.lines!.map((l) => [l.level, l.text, l.count]), [['error', 'port in use port=65535', 2]]);
  assert.deepEqual(buttons(page), ['Restart it', 'All its logs', 'All profiles']);
});

test('a slow or broken worker: Try again on the same URL', async (t) => {
  const { config, pages } = await pagesFor();
  t.after(() => config.remove());
  const slow = await pages.proxyError(from('127.0.0.1'), { status: 504, code: 'gateway_timeout', message: 'the worker for "a" did not answer within 30000 ms', extra: { handle: 'a' } });
  assert.equal(slow.title, '"a" did not answer in time');
  assert.deepEqual(slow.actions![0], { label: 'Try again', href: '/p/a/x', primary: true });
});

test('a missing profile: not set up (the file to create), not registered (Register), outside PROFILES', async (t) => {
  const { config, pages } = await pagesFor();
  t.after(() => config.remove());
  const none = await pages.notFound(from('127.0.0.1'), 'newbie' as Handle);
  assert.equal(none.title, '"newbie" is not set up yet');
  assert.ok(none.steps!.some((s) => s.includes(config.file('google_creds', 'credentials_newbie.json'))));
  assert.deepEqual(buttons(none), ['Register newbie', 'All profiles']);
  await config.addCredentials('newbie');
  const unregistered = await pages.notFound(from('127.0.0.1'), 'newbie' as Handle);
  assert.equal(unregistered.title, '"newbie" is not registered yet');
  assert.deepEqual(Object.fromEntries(unregistered.facts!).Registered, 'no');

  const shard = await pagesFor({ PROFILES: 'a' });
  t.after(() => shard.config.remove());
  const elsewhere = await shard.pages.notFound(from('127.0.0.1'), 'zed' as Handle);
  assert.equal(elsewhere.title, '"zed" is not served here');
  assert.deepEqual(buttons(elsewhere), ['All profiles']);
});
