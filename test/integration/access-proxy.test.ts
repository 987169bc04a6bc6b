// AUTH=proxy behind Debian's nginx on loopback: nginx signs people in (basic auth here) and passes the name in
// X-Forwarded-User; the supervisor believes it only from TRUSTED_PROXIES (127.0.0.1 here). The same header
// sent straight to the supervisor from 127.0.0.2 is ignored; a name no user has gets 403 unknown_user.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { UserStore } from '../../shared/access/users.ts';
import { makeConfigDir } from '../helpers/config-dir.ts';
import { requireIntegration } from '../helpers/integration.ts';
import { nginxAvailability, startNginx } from '../helpers/ops.ts';
import { freePort } from '../helpers/ports.ts';
import { startSupervisor } from '../helpers/supervisor.ts';

const nginxCheck = nginxAvailability();

/** A GET from a chosen source address, with headers as given. */
function get(port: number, p: string, headers: Record<string, string>, localAddress = '127.0.0.1'): Promise<{ status: number; body: any }> {
  return new Promise((resolve, reject) => {
    http
      .get({ host: '127.0.0.1', port, path: p, headers, localAddress, agent: false }, (res) => {
        let text = '';
        res.setEncoding('utf8').on('data', (c) => (text += c)).on('end', () => resolve({ status: res.statusCode!, body: text.startsWith('{') ? JSON.parse(text) : text }));
      })
      .on('error', reject);
  });
}

const basic = (user: string, password: string) => ({ authorization: `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}` });

test('AUTH=proxy: the name nginx sets is believed from the trusted proxy only; unknown names are told how to be added', async (t) => {
  if (!requireIntegration(t, 'nginx', nginxCheck.available, nginxCheck.reason)) return;
  const config = await makeConfigDir({ profiles: ['a', 'b'] });
  const users = new UserStore(config.file('users.json'));
  await users.add('lisa', { password: 'unused-here-123', profiles: ['a'] });
  const sup = await startSupervisor({ config, env: { AUTH: 'proxy', TRUSTED_PROXIES: '127.0.0.1', SUPERVISOR_TOKEN: 'proxy-test-admin-token' }, waitReady: ['a', 'b'] });
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'tat-sso-'));
  await fs.writeFile(path.join(dir, 'htpasswd'), 'lisa:{PLAIN}lisa-sso-pass\ncarol:{PLAIN}carol-sso-pass\n');
  const port = await freePort();
  const site = path.join(dir, 'site.conf');
  await fs.writeFile(
    site,
    `server {
  listen 127.0.0.1:${port};
  location / {
    auth_basic "TAT-MIS";
    auth_basic_user_file ${path.join(dir, 'htpasswd')};
    proxy_pass http://127.0.0.1:${sup.port};
    proxy_set_header Host $host;
    proxy_set_header X-Forwarded-User $remote_user;
    proxy_set_header Authorization "";
  }
}
`,
  );
  const nginx = await startNginx(site, port);
  t.after(async () => {
    await nginx.stop();
    await sup.cleanup();
    await fs.rm(dir, { recursive: true, force: true });
    await config.remove();
  });

  const lisa = await get(port, '/p/a/api/profile/current', basic('lisa', 'lisa-sso-pass'));
  assert.equal(lisa.status, 200, JSON.stringify(lisa.body));
  assert.equal(lisa.body.handle, 'a');
  assert.equal((await get(port, '/api/profile/current', basic('lisa', 'lisa-sso-pass'))).body.handle, 'a', "lisa's /api is her profile");
  assert.equal((await get(port, '/p/b/api/profile/current', basic('lisa', 'lisa-sso-pass'))).status, 403);
  assert.equal((await get(port, '/auth/me', basic('lisa', 'lisa-sso-pass'))).body.username, 'lisa');

  const carol = await get(port, '/p/a/api/profile/current', basic('carol', 'carol-sso-pass'));
  assert.equal(carol.status, 403);
  assert.equal(carol.body.error, 'unknown_user');
  assert.match(carol.body.message, /npm run user -- add carol/);

  // The header straight from a peer that is not a trusted proxy is ignored: the request is anonymous.
  const forged = await get(sup.port, '/p/a/api/profile/current', { 'x-forwarded-user': 'lisa' }, '127.0.0.2');
  assert.equal(forged.status, 401, JSON.stringify(forged.body));
  assert.equal(forged.body.error, 'unauthorized');
  // Sign-in is the proxy's business here.
  const login = await get(port, '/login', basic('lisa', 'lisa-sso-pass'));
  assert.equal(login.status, 200);
});
