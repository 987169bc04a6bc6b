// A saved MIS password is typed only into the MIS origin it was saved with (README, "Letting colleagues in"):
// moving a profile's mis_url to another origin needs the password again in the same request, a settings
// MIS_URL changed since the password was saved is refused at init-all, and the other MIS never receives it.
// Real supervisor, workers and Debian's Chromium against two fake MIS servers; the second sits behind a
// recording server that keeps every request's line, headers and body.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { chromiumAvailability, killProcessesMentioning } from '../helpers/chromium.ts';
import { makeConfigDir } from '../helpers/config-dir.ts';
import { requireIntegration } from '../helpers/integration.ts';
import { startSupervisor, type RunningSupervisor } from '../helpers/supervisor.ts';
import { startFakeMis, type FakeMis } from '../fixtures/fake-mis.ts';
import { readBody } from '../fixtures/read-body.ts';

const chrome = chromiumAvailability();
const USERNAME = 'lisa@theartisttree.com';
/** Saved for MIS #1: must never reach MIS #2. */
const PASSWORD_1 = 'mis-pass-One-5ab1';
/** MIS #2's own password for the same account. */
const PASSWORD_2 = 'mis-pass-Two-7cd2';

/** A fake MIS behind a server that records every request (line, headers, body) and passes it on. */
async function recordedMis(accounts: Record<string, string>) {
  const fake = await startFakeMis({ accounts });
  const seen: { method: string; url: string; headers: string; body: string }[] = [];
  const upstream = new URL(fake.url);
  const server = http.createServer(async (req, res) => {
    const body = await readBody(req);
    seen.push({ method: req.method ?? '', url: req.url ?? '', headers: JSON.stringify(req.headers), body });
    const out = http.request(
      { host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers: { ...req.headers, host: upstream.host }, agent: false },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    out.on('error', () => res.destroy());
    out.end(body);
  });
  await new Promise<void>((resolve, reject) => server.listen(0, '127.0.0.1', resolve).once('error', reject));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    fake,
    seen,
    url,
    misUrl: `${url}/daily-discount`,
    /** What was sent to this MIS that carries `secret`, anywhere in a request. */
    carrying: (secret: string) => seen.filter((r) => [r.url, r.headers, r.body].some((part) => part.includes(secret) || part.includes(encodeURIComponent(secret)))),
    async close() {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      await fake.close();
    },
  };
}

/** MIS #2 got neither the password saved for #1 nor any sign-in attempt. */
/** MIS #1, where the password was saved, and MIS #2 (recorded) that knows `USERNAME` with `password2`; a
 *  config dir with `handle`; the supervisors a test starts go in `sups`. Cleaned up in this order: the
 *  supervisors and their workers, the Chrome they leave (its own process group), the MIS servers, the files. */
async function twoMises(t: TestContext, handle: string, password2: string) {
  const mis1 = await startFakeMis({ accounts: { [USERNAME]: PASSWORD_1 } });
  const mis2 = await recordedMis({ [USERNAME]: password2 });
  const config = await makeConfigDir({ profiles: [handle] });
  const sups: RunningSupervisor[] = [];
  t.after(async () => {
    for (const s of sups) await s.cleanup();
    killProcessesMentioning(config.file('chrome'));
    await mis1.close();
    await mis2.close();
    await config.remove();
  });
  return { mis1, mis2, config, sups };
}

function assertUntouched(mis2: { fake: FakeMis; carrying(secret: string): unknown[] }, when: string) {
  assert.deepEqual(mis2.carrying(PASSWORD_1), [], `${when}: MIS #2 received the password saved for MIS #1`);
  assert.deepEqual(mis2.fake.failedLogins, [], `${when}: someone tried to sign in at MIS #2`);
  assert.deepEqual(mis2.fake.logins, [], `${when}: someone signed in at MIS #2`);
}

test('mis_url moved to another origin: refused without the password, kept where it was saved, and allowed with it', { timeout: 120_000 }, async (t) => {
  if (!requireIntegration(t, 'Chromium', chrome.available, chrome.reason)) return;
  const { mis1, mis2, config, sups } = await twoMises(t, 'a', PASSWORD_2);
  const sup = await startSupervisor({ config, env: { CHROME_PATH: chrome.path, HEADLESS: 'true', STOP_TIMEOUT_MS: '5000' }, waitReady: ['a'] });
  sups.push(sup);
  const blazeConfig = config.file('blaze_configs', 'blaze_config_a.json');

  const saved = await sup.post('/p/a/api/save-profile-credentials', { mis_url: mis1.misUrl, mis_username: USERNAME, mis_password: PASSWORD_1 });
  assert.equal(saved.status, 200, saved.text);
  const before = await fs.readFile(blazeConfig);

  // Only the URL, to another origin: the saved password would follow it there.
  const moved = await sup.post('/p/a/api/save-profile-credentials', { mis_url: mis2.misUrl });
  assert.equal(moved.status, 409, moved.text);
  assert.equal(moved.body.success, false);
  assert.equal(moved.body.error, 'password_required');
  assert.ok(!moved.text.includes(PASSWORD_1), 'the answer carries the password');
  assert.deepEqual(await fs.readFile(blazeConfig), before, 'the refused save changed the blaze config file');

  const init = await sup.post('/p/a/api/init-all');
  assertUntouched(mis2, 'init-all after the refused move');
  assert.equal(init.status, 200, init.text);
  assert.equal(init.body.mis_login, 'logged_in');
  assert.equal(init.body.mis_url, mis1.misUrl, 'init-all used the MIS the password was saved for');
  assert.deepEqual(mis1.logins.map((l) => l.email), [USERNAME]);
  assert.deepEqual(mis2.seen, [], 'MIS #2 was contacted at all');

  // The URL and the password for it, together: that is a deliberate move.
  const both = await sup.post('/p/a/api/save-profile-credentials', { mis_url: mis2.misUrl, mis_password: PASSWORD_2 });
  assert.equal(both.status, 200, both.text);
  const second = await sup.post('/p/a/api/init-all');
  assert.equal(second.status, 200, second.text);
  assert.equal(second.body.mis_url, mis2.misUrl);
  assert.equal(second.body.mis_login, 'logged_in');
  assert.deepEqual(mis2.fake.logins.map((l) => l.email), [USERNAME], 'signed in at MIS #2 with its own password');
  assert.deepEqual(mis2.fake.failedLogins, []);
  assert.deepEqual(mis2.carrying(PASSWORD_1), [], 'MIS #2 received the password saved for MIS #1');
  assert.equal(mis2.carrying(PASSWORD_2).length, 1, 'MIS #2 got its own password once, in its sign-in form');
  assert.equal(mis1.logins.length, 1, 'nothing more went to MIS #1');
});

test('MIS_URL changed since the password was saved: init-all answers 409 password_required, and the new MIS gets nothing', { timeout: 120_000 }, async (t) => {
  if (!requireIntegration(t, 'Chromium', chrome.available, chrome.reason)) return;
  // MIS #2 would even take the password: nothing stops a login there but the origin rule.
  const { mis1, mis2, config, sups } = await twoMises(t, 'b', PASSWORD_1);
  const env = { CHROME_PATH: chrome.path, HEADLESS: 'true', STOP_TIMEOUT_MS: '5000' };

  const first = await startSupervisor({ config, env: { ...env, MIS_URL: mis1.misUrl }, waitReady: ['b'] });
  sups.push(first);
  const saved = await first.post('/p/b/api/save-profile-credentials', { mis_username: USERNAME, mis_password: PASSWORD_1 });
  assert.equal(saved.status, 200, saved.text);
  const stored = await config.readJson('blaze_configs/blaze_config_b.json');
  assert.ok(!stored.mis_url, `the profile has no mis_url of its own: ${JSON.stringify(Object.keys(stored))}`);
  first.proc.child.kill('SIGUSR2');
  await first.proc.exited();
  await first.cleanup();

  const second = await startSupervisor({ config, env: { ...env, MIS_URL: mis2.misUrl }, waitReady: ['b'] });
  sups.push(second);
  const init = await second.post('/p/b/api/init-all');
  assertUntouched(mis2, 'init-all with MIS_URL moved to MIS #2');
  assert.equal(init.status, 409, init.text);
  assert.equal(init.body.error, 'password_required');
  assert.ok(!init.text.includes(PASSWORD_1), 'the answer carries the password');
  assert.deepEqual(mis2.seen, [], 'MIS #2 was contacted at all');
  assert.deepEqual(mis1.logins, [], 'nothing went to MIS #1 either: it is not the MIS now');
});
