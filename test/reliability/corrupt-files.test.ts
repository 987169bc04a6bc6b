// Corrupt files: a corrupt settings.json stops the supervisor with a message naming the file and the
// problem; a corrupt ports.json, last_profile.json, token, blaze config or session file is named in the log,
// treated as absent, and kept byte for byte — never overwritten — while every profile keeps answering. The
// corruptions are the realistic ones: a half-written file, a hand edit that lost its quotes (whose JSON error
// message would quote the password), garbage. The files are listed in docs/architecture.md, "Files under the
// config dir".
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import { makeConfigDir } from '../helpers/config-dir.ts';
import { startEntry } from '../helpers/processes.ts';
import { freePortRange } from '../helpers/ports.ts';
import { startSupervisor } from '../helpers/supervisor.ts';
import { Evidence } from '../helpers/evidence.ts';
import { SECRETS, realTokenFile } from '../helpers/secrets.ts';
import { client } from '../helpers/http.ts';

test('a corrupt settings.json: the supervisor refuses to start, naming the file and the problem (and no secret)', async (t) => {
  const ev = new Evidence();
  const cases: { name: string; text: string; expect: RegExp }[] = [
    { name: 'hand edit without quotes', text: `{"PORT": 5000, "SUPERVISOR_TOKEN": ${SECRETS.shortPassword}}\n`, expect: /not valid JSON/ },
    { name: 'half-written', text: '{"PORT": 5000, "SESSION_BACK', expect: /not valid JSON/ },
    { name: 'empty', text: '', expect: /not valid JSON/ },
    { name: 'not an object', text: '[5000]', expect: /must hold a JSON object/ },
    // (PORT itself comes from the environment here, which wins over the file: another key)
    { name: 'wrong type', text: '{"START_TIMEOUT_MS": "soon"}', expect: /"START_TIMEOUT_MS" in .*settings\.json/ },
    { name: 'bad enum', text: '{"SESSION_BACKEND": "mongo"}', expect: /"SESSION_BACKEND" in .*settings\.json/ },
  ];
  const configs = await Promise.all(cases.map(() => makeConfigDir({ profiles: ['a'] })));
  t.after(() => Promise.all(configs.map((c) => c.remove())));
  const port = await freePortRange(2 * cases.length);
  const runs = cases.map((c, i) => {
    const config = configs[i]!;
    return (async () => {
      await fs.writeFile(config.file('settings.json'), c.text);
      const proc = startEntry('supervisor/main.ts', { TAT_CONFIG_DIR: config.dir, PORT: String(port + 2 * i), WORKER_BASE_PORT: String(port + 2 * i + 1) });
      const exit = await Promise.race([proc.exited(), new Promise<null>((r) => setTimeout(() => r(null), 15_000))]);
      if (exit === null) await proc.kill();
      ev.note(`supervisor output (${c.name})`, proc.output());
      assert.deepEqual(exit, { code: 78, signal: null }, `${c.name}: the supervisor should exit 78 (EX_CONFIG):\n${proc.output()}`);
      const out = proc.output();
      assert.match(out, /settings\.json/, `${c.name}: the message names the file`);
      assert.match(out, c.expect, `${c.name}: the message names the problem:\n${out}`);
      assert.ok(!/listening/.test(out), `${c.name}: nothing was started`);
      assert.equal(await fs.readFile(config.file('settings.json'), 'utf8'), c.text, `${c.name}: settings.json is kept as it was`);
    })();
  });
  await Promise.all(runs);
  ev.record({ what: 'placeholder', status: 0, headers: {}, text: '' });
  ev.assertClean();
});

test('corrupt ports.json, last_profile.json, token, blaze config and session file: named in the log, kept byte for byte, everything keeps answering', async (t) => {
  const ev = new Evidence();
  const config = await makeConfigDir({ profiles: ['a', 'b', 'c'] });
  const corrupt: Record<string, string> = {
    // half-written
    'ports.json': '{\n  "a": 2',
    'last_profile.json': '{"last_profile": "b"',
    // a token written half-way: the access token is in it
    'tokens/token_b.json': JSON.stringify(realTokenFile('b'), null, 2).slice(0, 120),
    // a hand edit that lost the quotes around the password: a JSON parser's message would quote it
    'blaze_configs/blaze_config_a.json': `{"mis_username": "a@mis.example", "mis_password": ${SECRETS.shortPassword}}\n`,
    'sessions/session_c.json': `{"keep": "me", "csv": {"file": "MIS_CSV_REPORT_x.csv", "password": ${SECRETS.shortPassword}`,
  };
  for (const [file, text] of Object.entries(corrupt)) {
    await fs.mkdir(config.file(file, '..'), { recursive: true });
    await fs.writeFile(config.file(file), text);
  }
  const sup = await startSupervisor({ config, profiles: ['a', 'b', 'c'], portRange: 10 });
  ev.watch('supervisor output', () => sup.proc.output());
  t.after(async () => {
    await sup.cleanup();
    await config.remove();
  });
  const api = client(sup.port, { record: ev });
  const bytes = (file: string) => fs.readFile(config.file(file), 'utf8');
  const assertKept = async (when: string) => {
    for (const [file, text] of Object.entries(corrupt)) {
      if (file.startsWith('sessions/')) continue; // moved aside, checked below
      assert.equal(await bytes(file), text, `${when}: ${file} was changed`);
    }
  };
  const logNames = (needle: string) =>
    sup.proc.lines.some((l) => l.level !== undefined && Number(l.level) >= 40 && JSON.stringify(l).includes(needle));

  // everything runs: /api goes to the first valid profile, since last_profile.json counts as absent
  for (const h of ['a', 'b', 'c']) assert.equal((await api.get(`/p/${h}/healthz`)).status, 200);
  assert.equal((await api.get('/api/profile/current')).body.handle, 'a');

  // each corrupt file is named in the log (warn or worse) when it is read
  const creds = await api.get('/p/a/api/get-credentials');
  assert.equal(creds.status, 200, creds.text);
  assert.equal(creds.body.mis_password_set, false, 'a corrupt blaze config counts as absent');
  const profiles = await api.get('/p/c/api/profiles');
  assert.equal(profiles.body.profiles.find((p: { handle: string }) => p.handle === 'b').authenticated, false, 'a corrupt token is not authenticated');
  const session = await api.get('/p/c/api/session');
  assert.equal(session.status, 200);
  assert.deepEqual(session.body.keys, [], 'the session of c starts empty');
  for (const name of ['ports.json', 'last_profile.json', 'tokens/token_b.json', 'blaze_configs/blaze_config_a.json', 'sessions/session_c.json']) {
    assert.ok(logNames(name), `no warning or error in the log names ${name}`);
  }

  // writes that would replace a corrupt file refuse instead, naming it; the files stay as they were
  const save = await api.post('/p/a/api/save-profile-credentials', { mis_password: 'new-password-Xy1' });
  assert.equal(save.status, 409, save.text);
  assert.equal(save.body.error, 'corrupt_file');
  assert.match(save.body.message, /blaze_config_a\.json/);
  // a new profile gets a port (in memory) without ports.json being rewritten
  await config.addProfile('d');
  await sup.waitForReady(['d']);
  assert.equal((await api.get('/p/d/healthz')).status, 200);
  // Google can still be connected for b (the flow starts; the token file is replaced only by a new token)
  assert.equal((await api.post('/p/b/api/auth/google')).status, 200);
  await assertKept('after reads and refused writes');

  // the session file of c was moved aside whole, and c's session works again
  const kept = (await fs.readdir(config.file('sessions'))).filter((f) => f.startsWith('session_c.json.corrupt-'));
  assert.equal(kept.length, 1, `kept copies: ${kept}`);
  assert.equal(await bytes(`sessions/${kept[0]}`), corrupt['sessions/session_c.json']);
  assert.equal((await api.put('/p/c/api/session/after', { value: 1 })).status, 200);
  assert.equal((await api.get('/p/c/api/session/after')).body.value, 1);

  // recycling every worker (each re-reads its files) changes nothing either
  for (const h of ['a', 'b', 'c']) assert.equal((await api.post(`/supervisor/api/workers/${h}/restart`)).status, 200, h);
  for (const h of ['a', 'b', 'c', 'd']) assert.equal((await api.get(`/p/${h}/healthz`)).status, 200);
  await assertKept('after recycles');
  assert.equal(await bytes(`sessions/${kept[0]}`), corrupt['sessions/session_c.json']);

  // files that turn corrupt while running: reported, kept, and nobody stops answering
  const later: Record<string, string> = {
    // settings.json being edited while the supervisor runs: workers keep the supervisor's settings
    'settings.json': '{"LOG_LEVEL": "info", "SESSION_BACK',
    'tokens/token_c.json': '{"placeholder": tru',
    'google_creds/credentials_d.json': '{"installed": {"client_id": "d", "client_secret": ',
    'last_profile.json': '\u0000\u0000\u0000\u0000',
  };
  const dBefore = (await sup.worker('d'))!;
  for (const [file, text] of Object.entries(later)) await fs.writeFile(config.file(file), text);
  // the watcher sees d's credentials file change and recycles d: wait for that new process
  await sup.waitForState('d', 'ready', 15_000, (w) => w.pid !== dBefore.pid);
  for (const h of ['a', 'b', 'c', 'd']) {
    await sup.waitForState(h, 'ready', 15_000);
    assert.equal((await api.get(`/p/${h}/healthz`)).status, 200, h);
  }
  // a worker restarted now (recycle, switch, crash) starts as before
  assert.equal((await api.post('/supervisor/api/workers/b/restart')).status, 200);
  const b = await sup.waitForState('b', 'ready', 15_000);
  assert.equal(b.problem, null);
  assert.equal((await api.get('/p/b/healthz')).status, 200);
  assert.equal((await api.get('/p/c/api/profile/current')).body.authenticated, false);
  const auth = await api.post('/p/d/api/auth/google');
  assert.ok(auth.status >= 400 && auth.status < 500, `an unreadable credentials file is a clear 4xx: ${auth.text}`);
  assert.match(auth.body.message, /credentials_d\.json/);
  for (const [file, text] of Object.entries(later)) assert.equal(await bytes(file), text, `${file} was changed`);
  assert.equal((await api.get('/healthz')).status, 200);
  ev.assertClean();
});
