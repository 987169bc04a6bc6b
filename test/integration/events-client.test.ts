// The documented WebSocket client of a profile's live events (npm run events): it connects through the
// supervisor, with a person's API token when sign-in is on, and prints each event as a JSON line.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import path from 'node:path';
import readline from 'node:readline';
import { PROJECT_ROOT } from '../../shared/profiles/paths.ts';
import { UserStore } from '../../shared/access/users.ts';
import { makeConfigDir } from '../helpers/config-dir.ts';
import { startSupervisor } from '../helpers/supervisor.ts';

/** The client's first line, or its refusal. */
function firstEvent(url: string, token?: string): Promise<{ line: string | null; stderr: string; code: number | null }> {
  const child = spawn(process.execPath, [path.join(PROJECT_ROOT, 'scripts', 'follow-events.mjs'), url, ...(token ? [token] : [])], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (c) => (stderr += c));
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
    readline.createInterface({ input: child.stdout }).once('line', (line) => {
      clearTimeout(timer);
      child.kill();
      resolve({ line, stderr, code: null });
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ line: null, stderr, code });
    });
  });
}

test('npm run events: the status event first, over a WebSocket through the supervisor; refused without the right to the profile', async (t) => {
  const config = await makeConfigDir({ profiles: ['a', 'b'] });
  const users = new UserStore(config.file('users.json'));
  await users.add('lisa', { password: 'lisa-Pass-12345', profiles: ['a'] });
  const { token } = await users.createToken('lisa', 'events');
  const sup = await startSupervisor({ config, env: { AUTH: 'local', SUPERVISOR_TOKEN: 'events-admin-token' } });
  t.after(async () => {
    await sup.cleanup();
    await config.remove();
  });
  const mine = await firstEvent(`${sup.url}/p/a`, token);
  assert.ok(mine.line, `no event: ${mine.stderr}`);
  assert.equal(JSON.parse(mine.line).type, 'status');
  const other = await firstEvent(`${sup.url}/p/b`, token);
  assert.equal(other.line, null);
  assert.match(other.stderr, /refused: 403/);
  const anonymous = await firstEvent(`${sup.url}/p/a`);
  assert.match(anonymous.stderr, /refused: 401/);
});
