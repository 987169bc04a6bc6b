import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { makeConfigDir } from '../helpers/config-dir.ts';
import { blazeConfigWithSecrets, realTokenFile } from '../helpers/secrets.ts';
import { startWorker, type RunningWorker } from '../helpers/worker.ts';

// A worker keeps what it read from the profile's files in memory until they change (README, "What a
// worker keeps in memory"). Each file is changed behind its back — replaced, edited in place, deleted,
// created, its folder swapped — and the worker is asked at once, then again 100 ms later (the interval the
// promise is made for): the answer is the files' state every time.

/** Another process's atomic replace: a new file renamed over the old one. */
function replace(file: string, value: unknown): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(`${file}.tmp`, typeof value === 'string' ? value : JSON.stringify(value));
  fs.renameSync(`${file}.tmp`, file);
}

/** An editor's save in place: the same inode, truncated and written. */
function edit(file: string, value: unknown): void {
  fs.writeFileSync(file, typeof value === 'string' ? value : JSON.stringify(value));
}

async function askTwice(worker: RunningWorker, route: string, check: (json: any) => void, what: string): Promise<void> {
  const first = await worker.get(route);
  assert.equal(first.status, 200, `${what}, asked at once: ${first.text}`);
  check(first.body);
  await new Promise((r) => setTimeout(r, 100));
  const again = await worker.get(route);
  assert.equal(again.status, 200, `${what}, asked 100 ms later: ${again.text}`);
  check(again.body);
}

test('a worker never answers from memory about a profile file changed, replaced or deleted behind its back', { timeout: 120_000 }, async (t) => {
  const config = await makeConfigDir({ profiles: ['a', 'b'] });
  t.after(() => config.remove());
  const worker = await startWorker(config.dir, { BLAZE_PROFILE: 'a', SESSION_BACKEND: 'memory' });
  t.after(() => worker.kill());
  const token = config.file('tokens', 'token_a.json');
  const credentials = config.file('google_creds', 'credentials_a.json');
  const blaze = config.file('blaze_configs', 'blaze_config_a.json');
  const current = '/api/profile/current';
  const listed = (json: any, handle: string) => json.profiles.find((p: any) => p.handle === handle);

  assert.equal(fs.existsSync(path.dirname(blaze)), false, 'no blaze config folder yet: it is watched for through its parent');
  // Read once, so that every answer below would come from memory if the memory were wrong.
  for (const route of [current, '/api/profiles', '/api/get-credentials', '/api/profile/files']) assert.equal((await worker.get(route)).status, 200);

  for (let round = 0; round < 3; round++) {
    replace(token, realTokenFile('a'));
    await askTwice(worker, current, (j) => assert.equal(j.authenticated, true), `round ${round}: the token replaced by a real one`);
    edit(token, '{"token": "cut in the middle');
    await askTwice(worker, current, (j) => assert.equal(j.authenticated, false), `round ${round}: the token damaged in place`);
    await askTwice(worker, '/api/profile/files', (j) => assert.equal(j.token.state, 'damaged'), `round ${round}: the damaged token on the files list`);
    edit(token, realTokenFile('a'));
    await askTwice(worker, current, (j) => assert.equal(j.authenticated, true), `round ${round}: the token repaired in place`);
    fs.unlinkSync(token);
    await askTwice(worker, current, (j) => assert.equal(j.authenticated, false), `round ${round}: the token deleted`);
    await askTwice(worker, '/api/profiles', (j) => assert.equal(listed(j, 'a').registered, false), `round ${round}: the list after the token was deleted`);
    replace(token, { placeholder: true, handle: 'a' });
    await askTwice(worker, '/api/profiles', (j) => assert.equal(listed(j, 'a').registered, true), `round ${round}: the list after the token came back`);

    fs.unlinkSync(credentials);
    await askTwice(worker, current, (j) => assert.equal(j.has_credentials, false), `round ${round}: the credentials deleted`);
    await askTwice(worker, '/api/profile/files', (j) => assert.equal(j.credentials.state, 'missing'), `round ${round}: the files list without credentials`);
    await config.addCredentials('a');
    await askTwice(worker, current, (j) => assert.equal(j.has_credentials, true), `round ${round}: the credentials written again`);

    replace(blaze, blazeConfigWithSecrets(`user-${round}@example.com`));
    await askTwice(worker, '/api/get-credentials', (j) => assert.equal(j.mis_username, `user-${round}@example.com`), `round ${round}: the blaze config replaced`);
    edit(blaze, { mis_username: `edited-${round}@example.com` });
    await askTwice(worker, '/api/get-credentials', (j) => assert.equal(j.mis_username, `edited-${round}@example.com`), `round ${round}: the blaze config edited in place`);
    edit(blaze, '{ not json');
    await askTwice(worker, '/api/get-credentials', (j) => assert.equal(j.file.state, 'damaged'), `round ${round}: the blaze config damaged`);
    fs.unlinkSync(blaze);
    await askTwice(worker, '/api/get-credentials', (j) => assert.equal(j.file.state, 'missing'), `round ${round}: the blaze config deleted`);
    // Its whole folder gone, then made again with a file in it: what an absent folder held is not kept.
    fs.rmSync(path.dirname(blaze), { recursive: true });
    await askTwice(worker, '/api/get-credentials', (j) => assert.equal(j.file.state, 'missing'), `round ${round}: the blaze config folder removed`);
    replace(blaze, { mis_username: `again-${round}@example.com` });
    await askTwice(worker, '/api/get-credentials', (j) => assert.equal(j.mis_username, `again-${round}@example.com`), `round ${round}: the blaze config folder made again`);
    fs.unlinkSync(blaze);

    // Another profile appears and goes: the folder listing follows.
    replace(config.file('tokens', 'token_c.json'), { placeholder: true, handle: 'c' });
    replace(config.file('google_creds', 'credentials_c.json'), JSON.parse(fs.readFileSync(credentials, 'utf8')));
    await askTwice(worker, '/api/profiles', (j) => assert.ok(listed(j, 'c'), 'c is listed'), `round ${round}: a profile added`);
    fs.unlinkSync(config.file('tokens', 'token_c.json'));
    fs.unlinkSync(config.file('google_creds', 'credentials_c.json'));
    await askTwice(worker, '/api/profiles', (j) => assert.equal(listed(j, 'c'), undefined), `round ${round}: a profile removed`);

    // The whole tokens folder swapped for another (a restore from a backup).
    fs.renameSync(config.file('tokens'), config.file(`tokens.old-${round}`));
    await askTwice(worker, current, (j) => assert.equal(j.authenticated, false), `round ${round}: the tokens folder moved away`);
    fs.mkdirSync(config.file('tokens'));
    replace(token, realTokenFile('a'));
    replace(config.file('tokens', 'token_b.json'), { placeholder: true, handle: 'b' });
    await askTwice(worker, current, (j) => assert.equal(j.authenticated, true), `round ${round}: a new tokens folder`);
    replace(token, { placeholder: true, handle: 'a' });
    await askTwice(worker, current, (j) => assert.equal(j.authenticated, false), `round ${round}: a change in the new tokens folder`);
  }
});
