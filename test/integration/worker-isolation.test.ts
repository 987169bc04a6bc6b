// Two workers on two profiles in one config dir: neither sees the other's credentials.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { makeConfigDir } from '../helpers/config-dir.ts';
import { startWorker, type RunningWorker } from '../helpers/worker.ts';

test('two workers keep their profiles\' credentials apart', async (t) => {
  const config = await makeConfigDir({ profiles: ['nick.tat', 'lisa.tat'] });
  const workers: RunningWorker[] = [];
  t.after(async () => {
    await Promise.all(workers.map((w) => w.kill()));
    await config.remove();
  });

  const [nick, lisa] = await Promise.all([
    startWorker(config.dir, { BLAZE_PROFILE: 'nick.tat' }),
    startWorker(config.dir, { BLAZE_PROFILE: 'lisa.tat' }),
  ]);
  workers.push(nick, lisa);

  const creds = {
    'nick.tat': { mis_username: 'nick@theartisttree.com', mis_password: 'nick-pass-Q1', blaze_email: 'nick@blaze.me', blaze_password: 'nick-blaze-Q2' },
    'lisa.tat': { mis_username: 'lisa@theartisttree.com', mis_password: 'lisa-pass-W3', blaze_email: 'lisa@blaze.me', blaze_password: 'lisa-blaze-W4' },
  };
  const saved = await Promise.all([
    nick.post('/api/save-profile-credentials', creds['nick.tat']),
    lisa.post('/api/save-profile-credentials', creds['lisa.tat']),
  ]);
  for (const res of saved) assert.equal(res.status, 200, JSON.stringify(res.body));

  assert.equal((await nick.get('/api/profile/current')).body.handle, 'nick.tat');
  assert.equal((await lisa.get('/api/profile/current')).body.handle, 'lisa.tat');

  const pairs = [
    [nick, 'nick.tat', 'lisa.tat'],
    [lisa, 'lisa.tat', 'nick.tat'],
  ] as const;
  for (const [worker, own, other] of pairs) {
    const res = await worker.get('/api/get-credentials');
    assert.equal(res.status, 200);
    assert.equal(res.body.handle, own);
    assert.equal(res.body.mis_username, creds[own].mis_username);
    assert.equal(res.body.blaze_email, creds[own].blaze_email);
    assert.equal(res.body.mis_password_set, true);
    const text = JSON.stringify(res.body);
    for (const value of Object.values(creds[other])) assert.ok(!text.includes(value), `${own}'s answer holds ${other}'s ${value}`);
    for (const value of [creds[own].mis_password, creds[own].blaze_password]) assert.ok(!text.includes(value), `${own}'s own password leaked`);
  }

  // each file holds exactly its own profile's values (and the sites its passwords were saved for)
  const savedFor = { mis_password_origin: 'https://mis.theartisttree.com', blaze_password_origin: 'https://api.blaze.me' };
  assert.deepEqual(await config.readJson('blaze_configs/blaze_config_nick.tat.json'), { ...creds['nick.tat'], ...savedFor });
  assert.deepEqual(await config.readJson('blaze_configs/blaze_config_lisa.tat.json'), { ...creds['lisa.tat'], ...savedFor });

  // a later save on one does not touch the other
  assert.equal((await nick.post('/api/save-profile-credentials', { mis_username: 'nick2' })).status, 200);
  assert.equal((await lisa.get('/api/get-credentials')).body.mis_username, creds['lisa.tat'].mis_username);
  assert.equal((await nick.get('/api/get-credentials')).body.mis_username, 'nick2');
});
