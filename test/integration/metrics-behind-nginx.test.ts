// /metrics and the sign-in proxy's header behind Debian's nginx, configured from deploy/nginx (the template
// and the map renderShards writes, for one shard). nginx on the same machine forwards everyone's requests
// from 127.0.0.1, so loopback is no longer a sign of "this machine": the supervisor judges a forwarded
// request by the client's address nginx put in X-Forwarded-For. To be a client on another machine while
// staying on 127.0.0.0/8, the test has nginx take the client's address from a header of the test's own
// (ngx_http_realip_module, added beside the rendered template, which is used as it is): nginx then sees
// 203.0.113.7 and says so in X-Forwarded-For, exactly as it would for a real remote client.
//
// AUTH=local with METRICS_TOKEN: a remote anonymous client gets 401, a person 403, the token and an admin
// 200; straight on the supervisor's port, loopback without forwarding headers is a local Prometheus (200),
// loopback with `X-Forwarded-For: 203.0.113.9` is not (401). AUTH=proxy: `X-Forwarded-User` sent by a
// client through nginx is cleared by nginx, so it signs no one in.
//
// Not covered: that the `tat_session` cookie and `Authorization` never reach a worker. No worker route
// reflects request headers and a test cannot stand in for a worker process (the supervisor spawns and
// talks to its own over a Unix socket), so nothing here can observe what a worker received.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { PROJECT_ROOT } from '../../shared/profiles/paths.ts';
import { UserStore } from '../../shared/access/users.ts';
import { renderShards } from '../../deploy/nginx/shards.ts';
import { makeConfigDir } from '../helpers/config-dir.ts';
import { requireIntegration } from '../helpers/integration.ts';
import { nginxAvailability, parseMetrics, startNginx, type RunningNginx } from '../helpers/ops.ts';
import { freePort } from '../helpers/ports.ts';
import { request, type Reply } from '../helpers/http.ts';
import { startSupervisor, type RunningSupervisor } from '../helpers/supervisor.ts';

const nginxCheck = nginxAvailability();
const METRICS_TOKEN = 'metrics-scrape-token-7Hq2Lw9x';
const SUPERVISOR_TOKEN = 'metrics-admin-token-Zr5Kp1';
const PASSWORDS = { ana: 'ana-admin-pass-31', lisa: 'lisa-person-pass-84' };
/** The header the test's nginx takes the client's address from (set_real_ip_from 127.0.0.0/8). */
const CLIENT_ADDRESS_HEADER = 'X-Test-Client-Address';
const REMOTE = { [CLIENT_ADDRESS_HEADER]: '203.0.113.7' };

/** nginx from deploy/nginx/tat-mis.conf.template, one shard with every profile, in front of `sup`. */
async function nginxInFront(sup: RunningSupervisor, profiles: string[], cleanups: (() => Promise<void>)[]): Promise<RunningNginx> {
  const work = await fs.mkdtemp(path.join(os.tmpdir(), 'tat-metrics-nginx-'));
  cleanups.push(() => fs.rm(work, { recursive: true, force: true }));
  const shardsConf = path.join(work, 'shards.conf');
  await fs.writeFile(shardsConf, renderShards({ shards: [{ name: 'one', upstream: `127.0.0.1:${sup.port}`, profiles }] }));
  const port = await freePort();
  const template = await fs.readFile(path.join(PROJECT_ROOT, 'deploy', 'nginx', 'tat-mis.conf.template'), 'utf8');
  const site = template.replaceAll('{{SHARDS_CONF}}', shardsConf).replaceAll('{{LISTEN}}', `127.0.0.1:${port}`).replaceAll('{{AUTH_PROXY_HEADER}}', 'X-Forwarded-User');
  assert.doesNotMatch(site, /\{\{[^}]*\}\}/, 'every placeholder of the template is filled');
  const siteConf = path.join(work, 'tat-mis.conf');
  // The test's own addition (http level, beside the template): who the client is, for nginx.
  await fs.writeFile(siteConf, `set_real_ip_from 127.0.0.0/8;\nreal_ip_header ${CLIENT_ADDRESS_HEADER};\n\n${site}`);
  const nginx = await startNginx(siteConf, port);
  cleanups.push(() => nginx.stop());
  return nginx;
}


function show(r: Reply): string {
  return `${r.status} ${r.text.slice(0, 300)}`;
}

test('/metrics behind nginx (AUTH=local, METRICS_TOKEN): a remote client needs the token or an admin; a local Prometheus needs nothing', { timeout: 90_000 }, async (t) => {
  if (!requireIntegration(t, 'nginx', nginxCheck.available, nginxCheck.reason)) return;
  const cleanups: (() => Promise<void>)[] = [];
  t.after(async () => {
    for (const c of cleanups.reverse()) await c().catch((error) => console.error('cleanup failed:', error));
  });
  const config = await makeConfigDir({ profiles: ['a'] });
  cleanups.push(() => config.remove());
  const users = new UserStore(config.file('users.json'));
  await users.add('ana', { password: PASSWORDS.ana, admin: true });
  await users.add('lisa', { password: PASSWORDS.lisa, profiles: ['a'] });
  const sup = await startSupervisor({ config, env: { AUTH: 'local', METRICS_TOKEN, SUPERVISOR_TOKEN, LOG_LEVEL: 'info' }, waitReady: ['a'] });
  cleanups.push(() => sup.cleanup());
  const nginx = await nginxInFront(sup, ['a'], cleanups);
  const viaNginx = (method: string, p: string, headers: Record<string, string> = {}, body?: unknown) => request(nginx.port, method, p, { headers: { ...REMOTE, ...headers }, body, timeoutMs: 15_000 });
  const signIn = async (name: keyof typeof PASSWORDS) => {
    const r = await viaNginx('POST', '/auth/login', {}, { username: name, password: PASSWORDS[name] });
    assert.equal(r.status, 200, `${name} signs in through nginx: ${show(r)}`);
    return String(r.headers['set-cookie']).split(';')[0]!;
  };

  // ——— through nginx, from another machine ———
  const anonymous = await viaNginx('GET', '/metrics');
  assert.equal(anonymous.status, 401, `anonymous GET /metrics through nginx: ${show(anonymous)}`);
  assert.equal(anonymous.body.error, 'unauthorized');
  assert.doesNotMatch(anonymous.text, /tat_worker_state|# TYPE/, 'no metric in the refusal');
  // A client that claims to be this machine in its own X-Forwarded-For: nginx appends the real address.
  const claimsLocal = await viaNginx('GET', '/metrics', { 'x-forwarded-for': '127.0.0.1' });
  assert.equal(claimsLocal.status, 401, `GET /metrics through nginx with a forged X-Forwarded-For: 127.0.0.1: ${show(claimsLocal)}`);
  const wrongToken = await viaNginx('GET', '/metrics', { authorization: `Bearer ${METRICS_TOKEN}x` });
  assert.equal(wrongToken.status, 401, `a wrong token: ${show(wrongToken)}`);

  const lisa = await signIn('lisa');
  const person = await viaNginx('GET', '/metrics', { cookie: lisa });
  assert.equal(person.status, 403, `a person who is not an admin: ${show(person)}`);
  assert.equal(person.body.error, 'forbidden');
  assert.equal((await viaNginx('GET', '/p/a/healthz', { cookie: lisa })).status, 200, "lisa's sign-in works (her own profile)");

  const token = await viaNginx('GET', '/metrics', { authorization: `Bearer ${METRICS_TOKEN}` });
  assert.equal(token.status, 200, `METRICS_TOKEN: ${show(token)}`);
  assert.match(String(token.headers['content-type']), /^text\/plain/, 'Prometheus text');
  const scrape = parseMetrics(token.text);
  assert.equal(scrape.types.get('tat_worker_state'), 'gauge', 'the supervisor\'s own metrics are in it');
  assert.ok(scrape.samples.length > 10, 'a real scrape');
  // The token opens /metrics only.
  for (const p of ['/supervisor/api/workers', '/p/a/healthz', '/supervisor/api/users']) {
    const other = await viaNginx('GET', p, { authorization: `Bearer ${METRICS_TOKEN}` });
    assert.ok(other.status === 403 || other.status === 401, `METRICS_TOKEN on ${p}: ${show(other)}`);
  }

  const ana = await signIn('ana');
  const admin = await viaNginx('GET', '/metrics', { cookie: ana });
  assert.equal(admin.status, 200, `an admin: ${show(admin)}`);
  assert.ok(parseMetrics(admin.text).samples.length > 10);

  // From this machine through nginx (no client address header: nginx forwards 127.0.0.1): a local client.
  const localViaNginx = await request(nginx.port, 'GET', '/metrics', { timeoutMs: 15_000 });
  t.diagnostic(`anonymous GET /metrics through nginx from 127.0.0.1 itself: ${localViaNginx.status} (X-Forwarded-For: 127.0.0.1 is this machine)`);

  // ——— straight on the supervisor's port ———
  const prometheus = await request(sup.port, 'GET', '/metrics', { timeoutMs: 10_000 });
  assert.equal(prometheus.status, 200, `a local Prometheus (loopback, no forwarding header): ${show(prometheus)}`);
  assert.ok(parseMetrics(prometheus.text).samples.length > 10);
  const forwarded = await request(sup.port, 'GET', '/metrics', { headers: { 'x-forwarded-for': '203.0.113.9' }, timeoutMs: 10_000 });
  assert.equal(forwarded.status, 401, `loopback with X-Forwarded-For: 203.0.113.9: ${show(forwarded)}`);
  for (const headers of [{ forwarded: 'for=203.0.113.9' }, { 'x-real-ip': '203.0.113.9' }] as Record<string, string>[]) {
    const r = await request(sup.port, 'GET', '/metrics', { headers, timeoutMs: 10_000 });
    assert.equal(r.status, 401, `loopback with ${JSON.stringify(headers)}: ${show(r)}`);
  }
  const fromOther = await request(sup.port, 'GET', '/metrics', { localAddress: '127.0.0.2' });
  assert.equal(fromOther.status, 200, `127.0.0.2 is this machine too: ${fromOther.status} ${fromOther.text.slice(0, 200)}`);
});

test('AUTH=proxy behind nginx: X-Forwarded-User from a client is cleared by nginx and signs no one in', { timeout: 90_000 }, async (t) => {
  if (!requireIntegration(t, 'nginx', nginxCheck.available, nginxCheck.reason)) return;
  const cleanups: (() => Promise<void>)[] = [];
  t.after(async () => {
    for (const c of cleanups.reverse()) await c().catch((error) => console.error('cleanup failed:', error));
  });
  const config = await makeConfigDir({ profiles: ['a'] });
  cleanups.push(() => config.remove());
  const users = new UserStore(config.file('users.json'));
  // "root" is a real admin here: were the header believed, it would open everything.
  await users.add('root', { password: 'unused-root-pass-1', admin: true });
  await users.add('lisa', { password: 'unused-lisa-pass-1', profiles: ['a'] });
  const sup = await startSupervisor({ config, env: { AUTH: 'proxy', SUPERVISOR_TOKEN, LOG_LEVEL: 'info' }, waitReady: ['a'] });
  cleanups.push(() => sup.cleanup());
  const nginx = await nginxInFront(sup, ['a'], cleanups);

  // The header would work if it arrived: straight from a trusted proxy address (loopback), it signs root in.
  const direct = await request(sup.port, 'GET', '/supervisor/api/workers', { headers: { 'x-forwarded-user': 'root' }, timeoutMs: 10_000 });
  assert.equal(direct.status, 200, `X-Forwarded-User: root from a trusted peer (control): ${show(direct)}`);

  for (const [name, value] of [['X-Forwarded-User', 'root'], ['x-forwarded-user', 'root'], ['X-FORWARDED-USER', 'Root']] as const) {
    for (const client of [REMOTE, {}]) {
      const where = Object.keys(client).length ? 'from another machine' : 'from this machine';
      for (const p of ['/supervisor/api/workers', '/p/a/healthz', '/api/profile/current']) {
        const r = await request(nginx.port, 'GET', p, { headers: { ...client, [name]: value }, timeoutMs: 15_000 });
        assert.equal(r.status, 401, `${name}: ${value} through nginx ${where}, GET ${p}: ${show(r)}`);
        assert.equal(r.body.error, 'unauthorized');
      }
    }
  }
  const me = await request(nginx.port, 'GET', '/auth/me', { headers: { ...REMOTE, 'X-Forwarded-User': 'lisa' }, timeoutMs: 15_000 });
  assert.equal(me.status, 401, `GET /auth/me as "lisa" through nginx: ${show(me)}`);
});
