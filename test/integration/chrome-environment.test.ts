// Chrome and its children carry no secret: a supervisor started with SUPERVISOR_TOKEN, METRICS_TOKEN and a
// REDIS_URL with a password in its environment starts a profile's worker, the worker starts Chrome (init-all
// against a fake MIS), and no process of that Chrome has any of those variables, the supervisor's secret for
// its workers (TAT_INTERNAL_SECRET), the inherited settings (TAT_SUPERVISOR_SETTINGS), or any of their values
// in its environment (/proc/<pid>/environ). Real supervisor, worker and Debian's Chromium. Linux only.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { chromiumAvailability, killProcessesMentioning, processesMentioning, processTree } from '../helpers/chromium.ts';
import { makeConfigDir } from '../helpers/config-dir.ts';
import { request } from '../helpers/http.ts';
import { requireIntegration } from '../helpers/integration.ts';
import { startSupervisor, type RunningSupervisor } from '../helpers/supervisor.ts';
import { startFakeMis } from '../fixtures/fake-mis.ts';

const chrome = chromiumAvailability();
const ACCOUNT = { email: 'env@theartisttree.com', password: 'mis-pass-Env-4e1' };
const SUPERVISOR_TOKEN = 'env-supervisor-Token-8Qw2x';
const METRICS_TOKEN = 'env-metrics-Token-3Lp9zK';
const REDIS_PASSWORD = 'env-redis-Pw-6Tn4';
const REDIS_URL = `redis://:${REDIS_PASSWORD}@127.0.0.1:9/0`;
/** Variables no process of Chrome may have. */
const SECRET_NAMES = ['SUPERVISOR_TOKEN', 'TAT_INTERNAL_SECRET', 'TAT_SUPERVISOR_SETTINGS', 'METRICS_TOKEN', 'REDIS_URL'];

/** A process's environment as `NAME=value` entries; null when it cannot be read (gone, or not ours). */
function environOf(pid: number): string[] | null {
  try {
    return fs.readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0').filter(Boolean);
  } catch {
    return null;
  }
}

/** What in `entries` is a secret: a secret's name, or any entry that holds a secret value. */
function secretsIn(entries: string[], values: string[]): string[] {
  const found: string[] = [];
  for (const entry of entries) {
    const name = entry.slice(0, entry.indexOf('='));
    if (SECRET_NAMES.includes(name)) found.push(`${name} (a secret's name)`);
    else if (values.some((v) => entry.includes(v))) found.push(`${name} (holds a secret value)`);
  }
  return found;
}

test('Chrome and every process it starts carry no secret of the supervisor or the worker', { timeout: 120_000 }, async (t) => {
  if (!requireIntegration(t, 'Chromium', chrome.available, chrome.reason)) return;
  const fake = await startFakeMis({ accounts: { [ACCOUNT.email]: ACCOUNT.password } });
  const config = await makeConfigDir({ profiles: ['a'] });
  const userDataDir = config.file('chrome', 'chrome_a');
  /** Every process of this test's Chrome seen so far: killed at the end whatever happened. */
  const chromePids = new Set<number>();
  let sup: RunningSupervisor | undefined;
  // In this order: the supervisor and its worker, then the Chrome they leave (its own process group), then
  // the MIS and the files.
  t.after(async () => {
    await sup?.cleanup();
    for (const pid of chromePids) {
      try {
        if (/chrom/i.test(fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8'))) process.kill(pid, 'SIGKILL');
      } catch {
        // gone
      }
    }
    killProcessesMentioning(userDataDir);
    await fake.close();
    await config.remove();
  });
  sup = await startSupervisor({
    config,
    env: { SUPERVISOR_TOKEN, METRICS_TOKEN, REDIS_URL, MIS_URL: fake.misUrl, CHROME_PATH: chrome.path, HEADLESS: 'true', STOP_TIMEOUT_MS: '5000' },
    waitReady: ['a'],
  });
  const admin = { authorization: `Bearer ${SUPERVISOR_TOKEN}` };

  // The supervisor itself was given them: the check below is about what it and its worker pass on.
  const supervisorEnv = environOf(sup.proc.pid) ?? [];
  assert.ok(supervisorEnv.some((e) => e.startsWith('SUPERVISOR_TOKEN=')), 'the test did not give the supervisor SUPERVISOR_TOKEN');

  const saved = await sup.post('/p/a/api/save-profile-credentials', { mis_username: ACCOUNT.email, mis_password: ACCOUNT.password }, admin);
  assert.equal(saved.status, 200, saved.text);
  const init = await sup.post('/p/a/api/init-all', undefined, admin);
  assert.equal(init.status, 200, init.text);
  assert.equal(init.body.mis_login, 'logged_in');

  const workerPid = (await sup.worker('a'))!.pid!;
  const status = await sup.get('/p/a/api/browser-status', admin);
  assert.equal(status.status, 200, status.text);
  const chromePid = status.body.instance.pid as number;
  const worker = processTree(workerPid);
  assert.ok(worker.includes(chromePid), `Chrome ${chromePid} is not among the worker's descendants ${worker}`);
  // Every descendant of the worker (Chrome, its zygotes, renderers, GPU and utility helpers), and anything
  // naming the profile's user-data dir in case one was re-parented.
  const pids = [...new Set([...worker.filter((pid) => pid !== workerPid), ...processTree(chromePid), ...processesMentioning(userDataDir)])];
  for (const pid of pids) chromePids.add(pid);
  assert.ok(pids.length >= 3, `expected Chrome and its helpers, found ${pids.length}: ${pids}`);

  // (The supervisor's secret for its workers never is in an environment: it comes in the worker's start
  // message. The second test proves the worker's own environment holds none of these.)
  const values = [SUPERVISOR_TOKEN, METRICS_TOKEN, REDIS_PASSWORD];

  const problems: string[] = [];
  let read = 0;
  for (const pid of pids) {
    const entries = environOf(pid);
    if (entries === null) continue; // gone meanwhile
    read++;
    const cmd = (() => {
      try {
        return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').slice(0, 2).join(' ');
      } catch {
        return 'gone';
      }
    })();
    for (const found of secretsIn(entries, values)) problems.push(`pid ${pid} (${cmd.slice(0, 80)}): ${found}`);
  }
  // Chrome's helpers write their process title over their argv and environment block, so /proc shows little
  // of theirs; they get the browser process's environment, which /proc shows whole: that one must be read.
  const main = environOf(chromePid);
  assert.ok(main?.some((e) => e.startsWith('PATH=')), `Chrome's own environment could not be read: ${main}`);
  assert.ok(read >= 1, `none of the ${pids.length} Chrome processes could be read`);
  assert.deepEqual(problems, [], 'a process of Chrome carries a secret');
});

// The worker's own environment block (/proc/<pid>/environ: what execve gave it, readable by any process of the
// same user, and what its children would inherit) never held them: the settings and the supervisor's secret
// come in its start message over IPC, and the settings' variables stay with the supervisor.
test("the worker's own environment holds none of the secrets", { timeout: 60_000 }, async (t) => {
  const config = await makeConfigDir({ profiles: ['a'] });
  let sup: RunningSupervisor | undefined;
  t.after(async () => {
    await sup?.cleanup();
    await config.remove();
  });
  sup = await startSupervisor({ config, env: { SUPERVISOR_TOKEN, METRICS_TOKEN, REDIS_URL }, waitReady: ['a'] });
  const workerPid = (await sup.worker('a'))!.pid!;
  const entries = environOf(workerPid);
  assert.ok(entries?.some((e) => e.startsWith('PATH=')), `the worker's environment could not be read: ${entries}`);
  assert.deepEqual(secretsIn(entries!, [SUPERVISOR_TOKEN, METRICS_TOKEN, REDIS_PASSWORD]), [], `/proc/${workerPid}/environ of the worker`);
  // and yet it has its settings: on its own port, deleting a profile needs SUPERVISOR_TOKEN, which it knows
  const port = (await sup.worker('a'))!.port;
  const remove = (headers: Record<string, string>) => request(port, 'POST', '/api/profile/delete', { headers: { 'content-type': 'application/json', ...headers }, body: '{"handle":"nobody"}' });
  assert.equal((await remove({})).status, 401);
  assert.equal((await remove({ authorization: `Bearer ${SUPERVISOR_TOKEN}` })).status, 404, 'the token is known: on to "no such profile"');
});
