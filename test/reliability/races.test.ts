// Races through the running system: 20 concurrent registrations of one handle through two
// different worker processes → exactly one 201; concurrent switches from every direction → one consistent
// last_profile.json and routing that agrees with it; concurrent saves of credentials while the file is read
// over and over → always valid JSON holding exactly one of the submitted versions.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { makeConfigDir } from '../helpers/config-dir.ts';
import { waitFor } from '../helpers/processes.ts';
import { startSupervisor } from '../helpers/supervisor.ts';
import { Evidence } from '../helpers/evidence.ts';
import { SECRETS } from '../helpers/secrets.ts';
import { client } from '../helpers/http.ts';

test('20 concurrent registrations of one handle, through two worker processes: exactly one 201', async (t) => {
  const ev = new Evidence();
  const config = await makeConfigDir({ profiles: ['a', 'b'] });
  await config.writeJson('last_profile.json', { last_profile: 'a' });
  for (const h of ['newbie', 'second']) await config.addCredentials(h);
  const sup = await startSupervisor({ config, profiles: ['a', 'b'] });
  ev.watch('supervisor output', () => sup.proc.output());
  t.after(async () => {
    await sup.cleanup();
    await config.remove();
  });
  const api = client(sup.port, { record: ev });

  for (const handle of ['newbie', 'second']) {
    const spellings = [handle, ` ${handle} `, handle.toUpperCase(), `${handle[0]!.toUpperCase()}${handle.slice(1)}`];
    const replies = await Promise.all(
      Array.from({ length: 20 }, (_, i) => {
        const target = i % 3 === 0 ? '/api/profile/register' : i % 3 === 1 ? '/p/a/api/profile/register' : '/p/b/api/profile/register';
        return api.post(target, { handle: spellings[i % spellings.length] });
      }),
    );
    const statuses = replies.map((r) => r.status).sort();
    assert.deepEqual(statuses.filter((s) => s === 201).length, 1, `${handle}: ${statuses}`);
    assert.deepEqual(statuses.filter((s) => s !== 201 && s !== 409), [], `${handle}: ${statuses}`);
    for (const r of replies.filter((x) => x.status === 409)) assert.equal(r.body.error, 'profile_exists');
    assert.deepEqual(await config.readJson(`tokens/token_${handle}.json`), { placeholder: true, handle });
    assert.deepEqual(await config.readJson(`blaze_configs/blaze_config_${handle}.json`), {});
    // the supervisor picks the new profile up and /api follows last_profile.json (the registration wrote it)
    await sup.waitForReady([handle]);
    assert.equal((await api.get(`/p/${handle}/api/profile/current`)).body.handle, handle);
  }
  assert.equal((await config.readJson('last_profile.json')).last_profile, 'second');
  await waitFor('/api to follow last_profile.json', async () => (await api.get('/api/profile/current')).body.handle === 'second', 5000);
  // no stray temp files from the losing writers
  for (const dir of ['tokens', 'blaze_configs', '.']) {
    const stray = (await fs.readdir(config.file(dir))).filter((f) => f.endsWith('.tmp'));
    assert.deepEqual(stray, [], `temp files left in ${dir}`);
  }
  for (const w of await sup.workers()) assert.equal(w.restarts, 0, `${w.handle} crashed`);
  for (const h of ['a', 'b']) assert.equal((await api.get(`/p/${h}/api/profile/current`)).body.handle, h);
  ev.assertClean();
});

test('concurrent switches from every direction: last_profile.json, the supervisor and /api agree at the end', async (t) => {
  const ev = new Evidence();
  const handles = ['s1', 's2', 's3', 's4'];
  const sup = await startSupervisor({ profiles: handles });
  ev.watch('supervisor output', () => sup.proc.output());
  t.after(() => sup.cleanup());
  const api = client(sup.port, { record: ev });
  // what each profile holds must survive every recycle the switches cause
  for (const h of handles) assert.equal((await api.put(`/p/${h}/api/session/mark`, { value: `${h}-mark` })).status, 200);

  for (let round = 0; round < 2; round++) {
    const replies = await Promise.all(
      Array.from({ length: 24 }, async (_, i) => {
        await sleep(Math.random() * 150); // spread the 24 switches over 150 ms: pacing, not a wait
        const handle = handles[(i * 7 + round) % handles.length]!;
        const via = i % 3;
        const r =
          via === 0
            ? await api.post('/api/profile/switch', { handle })
            : via === 1
              ? await api.post(`/p/${handles[i % handles.length]}/api/profile/switch`, { handle })
              : await api.post('/supervisor/api/current', { handle });
        return { r, handle };
      }),
    );
    for (const { r, handle } of replies) {
      assert.equal(r.status, 200, `switch to ${handle}: ${r.text}`);
      assert.equal(r.body.success, true);
    }
    // quiet: every recycle the switches asked for is done
    const file = (await fs.readFile(sup.config.file('last_profile.json'), 'utf8')).trim();
    const final = JSON.parse(file).last_profile as string;
    assert.ok(handles.includes(final), file);
    // the last write's watcher event may still be on its way: wait for the supervisor to settle on it
    await waitFor(
      `round ${round}: every worker ready and the supervisor's current profile = ${final} (last_profile.json)`,
      async () => (await sup.workers()).every((w) => w.state === 'ready') && (await sup.current()) === final,
      30_000,
    );
    const list = await sup.workers();
    assert.deepEqual(list.filter((w) => w.is_current).map((w) => w.handle), [final]);
    for (let i = 0; i < 5; i++) {
      const r = await api.get('/api/profile/current');
      assert.equal(r.status, 200);
      assert.equal(r.body.handle, final, `round ${round}: /api answered ${r.body.handle}, last_profile.json says ${final}`);
    }
  }
  for (const w of await sup.workers()) assert.equal(w.restarts, 0, `${w.handle} crashed`);
  for (const h of handles) assert.equal((await api.get(`/p/${h}/api/session/mark`)).body.value, `${h}-mark`);
  ev.assertClean();
});

test('concurrent saves of credentials: the file is always valid JSON holding exactly one submitted version', async (t) => {
  const ev = new Evidence();
  const config = await makeConfigDir({ profiles: ['creds', 'other'] });
  await config.writeJson('blaze_configs/blaze_config_creds.json', {}); // as registration leaves it
  await config.writeJson('blaze_configs/blaze_config_other.json', { mis_username: 'other@mis.example' });
  await config.writeJson('last_profile.json', { last_profile: 'creds' });
  const sup = await startSupervisor({ config, profiles: ['creds', 'other'] });
  ev.watch('supervisor output', () => sup.proc.output());
  t.after(async () => {
    await sup.cleanup();
    await config.remove();
  });
  const api = client(sup.port, { record: ev });
  const file = config.file('blaze_configs', 'blaze_config_creds.json');
  const version = (i: number) => ({
    mis_username: `user-${i}@mis.example`,
    mis_password: `${SECRETS.misPassword}-${i}`,
    blaze_email: `blaze-${i}@example.com`,
    blaze_password: `${SECRETS.blazePassword}-${i}`,
    mis_url: `http://127.0.0.1:9/mis-${i}`,
  });
  const submitted = new Map<string, number>();
  const SAVES = 60;
  for (let i = 0; i < SAVES; i++) submitted.set(JSON.stringify(version(i)), i);

  // a reader that never stops looking while the saves run
  let reading = true;
  t.after(() => {
    reading = false;
  });
  const seen = new Set<number>();
  const problems: string[] = [];
  let reads = 0;
  const reader = (async () => {
    while (reading && reads < 200_000) {
      let text: string;
      try {
        text = await fs.readFile(file, 'utf8');
      } catch (error) {
        problems.push(`read failed: ${(error as Error).message}`);
        await sleep(5); // pacing after a failed read (no hot loop), not a wait
        continue;
      }
      reads += 1;
      let value: unknown;
      try {
        value = JSON.parse(text);
      } catch {
        problems.push(`not valid JSON: ${text.slice(0, 200)}`);
        continue;
      }
      const key = JSON.stringify(asSubmitted(value));
      if (key === '{}') continue; // as registered, before the first save
      const which = submitted.get(key);
      if (which === undefined) problems.push(`not one of the submitted versions: ${key.slice(0, 300)}`);
      else seen.add(which);
    }
  })();

  const replies = await Promise.all(
    Array.from({ length: SAVES }, (_, i) => api.post(i % 2 ? '/api/save-profile-credentials' : '/p/creds/api/save-profile-credentials', version(i))),
  );
  // the reader looks at the file at least once more after every save was answered (unless it has hit its cap)
  const readsAtLastReply = reads;
  await waitFor('a read of the file after the last save', () => reads > readsAtLastReply || reads >= 200_000, 5000);
  reading = false;
  await reader;
  for (const r of replies) assert.equal(r.status, 200, r.text);
  assert.deepEqual(problems.slice(0, 5), [], `${problems.length} bad reads of ${reads}`);
  assert.ok(reads > 50, `only ${reads} reads during the race`);
  assert.ok(seen.size >= 2, `the reader saw ${seen.size} versions`);
  const final = asSubmitted(JSON.parse(await fs.readFile(file, 'utf8')));
  const winner = submitted.get(JSON.stringify(final));
  assert.notEqual(winner, undefined, 'the final file is one of the submitted versions');
  // what the API shows agrees with the file, without the passwords
  const shown = await api.get('/p/creds/api/get-credentials');
  assert.equal(shown.body.mis_username, final.mis_username);
  assert.equal(shown.body.mis_password_set, true);
  const mode = (await fs.stat(file)).mode & 0o777;
  assert.equal(mode, 0o600);
  const stray = (await fs.readdir(config.file('blaze_configs'))).filter((f) => f.endsWith('.tmp'));
  assert.deepEqual(stray, []);
  // the other profile was not touched
  assert.deepEqual(await config.readJson('blaze_configs/blaze_config_other.json'), { mis_username: 'other@mis.example' });
  assert.equal((await api.get('/p/other/api/get-credentials')).body.mis_username, 'other@mis.example');
  t.diagnostic(`${reads} reads during ${SAVES} concurrent saves; ${seen.size} distinct versions seen`);
  ev.extraSecrets.add(SECRETS.misPassword);
  ev.assertClean([...Array.from({ length: SAVES }, (_, i) => [version(i).mis_password, version(i).blaze_password]).flat(), SECRETS.clientSecret]);
});

/** A saved blaze config as it was submitted: the sites its passwords were saved for are the worker's own
 *  addition. */
function asSubmitted(value: unknown): Record<string, unknown> {
  const { mis_password_origin: _mis, blaze_password_origin: _blaze, ...submitted } = value as Record<string, unknown>;
  return submitted;
}
