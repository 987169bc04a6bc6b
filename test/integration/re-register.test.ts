// Nothing is inherited by accident: a deleted profile keeps its files (MIS / Blaze settings with the MIS
// password, its Chrome profile with the MIS session, its downloads), and registering its handle again would
// hand them over. With AUTH=local, a signed-in person with no grants gets 403 for such a handle, and nothing
// changes (no token file, no grant, the kept files as they were); an admin (SUPERVISOR_TOKEN) may register it
// again, and so may a person it is granted to. A handle with nothing kept (a credentials file only) is anyone's
// to register, and is then granted to its registrant. Real supervisor and workers.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import { UserStore } from '../../shared/access/users.ts';
import { makeConfigDir } from '../helpers/config-dir.ts';
import { waitFor } from '../helpers/processes.ts';
import { startSupervisor, type RunningSupervisor } from '../helpers/supervisor.ts';
import type { Reply } from '../helpers/http.ts';

const SUPERVISOR_TOKEN = 're-register-admin-Token-5Xk';
const ADMIN = { authorization: `Bearer ${SUPERVISOR_TOKEN}` };
const PEOPLE = { mallory: 'mallory-Pass-4411', ana: 'ana-Pass-7720' };
const KEPT_MIS = { mis_username: 'old-store@theartisttree.com', mis_password: 'mis-pass-Old-9f3' };

test('registering a deleted profile\'s handle again: only an admin or someone it is granted to', { timeout: 120_000 }, async (t) => {
  const config = await makeConfigDir({ profiles: ['keep', 'old', 'old.ana'] });
  let sup: RunningSupervisor | undefined;
  t.after(async () => {
    await sup?.cleanup();
    await config.remove();
  });
  // What a profile leaves behind: its MIS / Blaze settings, its Chrome profile, its downloads.
  for (const handle of ['old', 'old.ana']) {
    await config.writeJson(`blaze_configs/blaze_config_${handle}.json`, KEPT_MIS);
    await fs.mkdir(config.file('chrome', `chrome_${handle}`, 'Default'), { recursive: true });
    await fs.writeFile(config.file('chrome', `chrome_${handle}`, 'Default', 'Cookies'), `mis_session=kept-session-of-${handle}`);
    await fs.mkdir(config.file('downloads', handle), { recursive: true });
    await fs.writeFile(config.file('downloads', handle, 'MIS_CSV_REPORT_20260101T000000000Z.csv'), 'SKU,Product\nA-1,Kept\n');
  }
  // A handle that was never a profile: its credentials file only.
  await config.addCredentials('fresh');
  const users = new UserStore(config.file('users.json'));
  await users.add('mallory', { password: PEOPLE.mallory });
  await users.add('ana', { password: PEOPLE.ana, profiles: ['old.ana'] });
  /** users.json as it is on disk now (a new store: nothing cached). */
  const grantsOf = (name: string) => new UserStore(config.file('users.json')).find(name)?.profiles ?? [];

  sup = await startSupervisor({ config, env: { AUTH: 'local', SUPERVISOR_TOKEN }, waitReady: ['keep', 'old', 'old.ana'] });
  const signIn = async (name: keyof typeof PEOPLE) => {
    const r = await sup.post('/auth/login', { username: name, password: PEOPLE[name] });
    assert.equal(r.status, 200, r.text);
    return { cookie: String(r.headers['set-cookie']).split(';')[0]! };
  };
  const register = (handle: string, headers: Record<string, string>): Promise<Reply> => sup.post('/api/profile/register', { handle }, headers);

  // An admin deletes both; their workers go, their files stay.
  for (const handle of ['old', 'old.ana']) {
    const deleted = await sup.request('DELETE', `/supervisor/api/profiles/${handle}`, { headers: ADMIN });
    assert.equal(deleted.status, 200, deleted.text);
  }
  await waitFor('the deleted profiles\' workers to go', async () => !(await sup.workers()).some((w) => w.handle === 'old' || w.handle === 'old.ana'), 15_000);
  assert.equal(await config.exists('tokens/token_old.json'), false);
  const keptOf = async (handle: string) => {
    const all = await config.snapshot();
    const mine = [`blaze_configs/blaze_config_${handle}.json`, `chrome/chrome_${handle}/`, `downloads/${handle}/`, `sessions/session_${handle}.json`];
    return new Map([...all].filter(([file]) => mine.some((m) => file === m || (m.endsWith('/') && file.startsWith(m)))));
  };
  const keptOld = await keptOf('old');
  assert.ok(keptOld.has('blaze_configs/blaze_config_old.json') && keptOld.has('chrome/chrome_old/Default/Cookies') && keptOld.size >= 4, [...keptOld.keys()].join(', '));

  const mallory = await signIn('mallory');
  const ana = await signIn('ana');

  await t.test('a person with no grants may not take over the kept files: 403 forbidden, nothing changes', async () => {
    const taken = await register('old', mallory);
    assert.equal(taken.status, 403, `mallory registered "old" and got its kept files: ${taken.text}`);
    assert.equal(taken.body.success, false);
    assert.equal(taken.body.error, 'forbidden');
    assert.ok(!taken.text.includes(KEPT_MIS.mis_password));
    assert.equal(await config.exists('tokens/token_old.json'), false, 'the refused register wrote a token file');
    assert.ok(!grantsOf('mallory').includes('old'), 'mallory was granted "old"');
    assert.deepEqual(await keptOf('old'), keptOld, 'the kept files changed');
    assert.notEqual((await sup.get('/p/old/api/get-credentials', mallory)).status, 200, 'mallory reads the kept MIS settings');
    // Nor a profile granted to someone else, kept files or not.
    const anas = await register('old.ana', mallory);
    assert.equal(anas.status, 403, anas.text);
    assert.equal(await config.exists('tokens/token_old.ana.json'), false);
  });

  await t.test('an admin (SUPERVISOR_TOKEN) may register it again, with its kept files', async () => {
    const again = await register('old', ADMIN);
    assert.equal(again.status, 201, again.text);
    assert.equal(await config.exists('tokens/token_old.json'), true);
    await sup.waitForState('old', 'ready', 15_000);
    assert.deepEqual(await config.readJson('blaze_configs/blaze_config_old.json'), KEPT_MIS, 'the kept MIS settings are the profile\'s again');
  });

  await t.test('a person it is granted to may register it again', async () => {
    const again = await register('old.ana', ana);
    assert.equal(again.status, 201, again.text);
    assert.equal(await config.exists('tokens/token_old.ana.json'), true);
    await sup.waitForState('old.ana', 'ready', 15_000);
    assert.equal((await sup.get('/p/old.ana/api/profile/current', ana)).status, 200);
  });

  await t.test('a fresh handle (a credentials file only) is anyone\'s: 201, and granted to its registrant', async () => {
    const made = await register('fresh', mallory);
    assert.equal(made.status, 201, made.text);
    assert.equal(await config.exists('tokens/token_fresh.json'), true);
    await waitFor('mallory to be granted "fresh"', () => grantsOf('mallory').includes('fresh'), 5000);
    await sup.waitForState('fresh', 'ready', 15_000);
  });

  // Long after the refused request: no grant of "old" ever reached mallory.
  assert.deepEqual(grantsOf('mallory'), ['fresh'], 'mallory\'s grants: "fresh", which she registered, and never "old"');
});
