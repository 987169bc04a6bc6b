// A worker under a supervisor (an IPC channel) serves exactly the profile it was started for: a BLAZE_PROFILE
// that is not a valid profile stops the start with a `fatal` message and exit code 78, never a fallback to
// another profile (README, "Files under the config dir").
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { makeConfigDir } from '../helpers/config-dir.ts';
import { request } from '../helpers/http.ts';
import { startEntry, waitFor } from '../helpers/processes.ts';
import { freePortRange } from '../helpers/ports.ts';

async function supervisedWorker(env: Record<string, string>, t: import('node:test').TestContext) {
  const config = await makeConfigDir({ profiles: ['a.first', 'b.second'] });
  await config.writeJson('last_profile.json', { last_profile: 'a.first' });
  const port = await freePortRange(1);
  const proc = startEntry('worker/main.ts', { TAT_CONFIG_DIR: config.dir, PORT: String(port), ...env }, { ipc: true });
  const messages: { type: string; [key: string]: unknown }[] = [];
  proc.child.on('message', (m) => messages.push(m as (typeof messages)[number]));
  t.after(async () => {
    await proc.kill();
    await config.remove();
  });
  return { proc, messages, port };
}

for (const [what, value, reason] of [
  ['a profile that does not exist', 'nobody', /BLAZE_PROFILE "nobody" is not a valid profile here: tokens\/token_nobody\.json or google_creds\/credentials_nobody\.json is missing/],
  ['an invalid handle', '../a.first', /BLAZE_PROFILE "\.\.\/a\.first" is not a valid handle/],
  ['no BLAZE_PROFILE at all', '', /BLAZE_PROFILE "" is not a valid handle/],
] as const) {
  test(`supervised, ${what}: a start error, not another profile`, async (t) => {
    const { proc, messages } = await supervisedWorker(value ? { BLAZE_PROFILE: value } : {}, t);
    let exit: { code: number | null } | null = null;
    void proc.exited().then((e) => (exit = e));
    await waitFor('the worker to exit or to say ready', () => exit || messages.some((m) => m.type === 'ready'), 15_000);
    assert.ok(!messages.some((m) => m.type === 'ready'), `it served a profile: ${proc.output().slice(-1000)}`);
    assert.equal(exit!.code, 78, proc.output());
    const fatal = messages.find((m) => m.type === 'fatal');
    assert.ok(fatal, JSON.stringify(messages));
    assert.equal(fatal.code, 'startup_failed');
    assert.match(String(fatal.message), reason);
    assert.ok(!proc.output().includes('listening on'), 'it never listened');
  });
}

test('supervised, a valid BLAZE_PROFILE: that profile, whatever last_profile.json says', async (t) => {
  const { messages, port } = await supervisedWorker({ BLAZE_PROFILE: 'b.second' }, t);
  await waitFor('the ready message', () => messages.some((m) => m.type === 'ready'), 15_000);
  const current = await request(port, 'GET', '/api/profile/current');
  assert.equal(current.body.handle, 'b.second');
});
