// Workers outlive the supervisor (README, "Running it for real"; docs/architecture.md, "Workers outlive the
// supervisor"): a supervisor killed outright or stopped by its service manager leaves its workers running; the
// next one takes every one of them back within a second — same pids, same ports, their uptime, restarts and
// recent log lines — after proving each is its own worker. What changed while no supervisor ran is reconciled
// as usual; a pid that now belongs to another process is neither taken nor touched; a worker of another
// version is shown as older and moved to this one on request.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { spawn } from 'node:child_process';
import { isRunning, waitFor } from '../helpers/processes.ts';
import { SLACK_MS } from '../helpers/integration.ts';
import { startSupervisor, type RunningSupervisor } from '../helpers/supervisor.ts';
import { runtimeDir, workerRecordsDir } from '../../supervisor/workers/runtime-dir.ts';

const profiles = ['a', 'b'];
const STOP_TIMEOUT_MS = 3000;
const env = { STOP_TIMEOUT_MS: String(STOP_TIMEOUT_MS) };

/** A next supervisor on the first one's config dir and ports. */
function again(first: RunningSupervisor, more: Record<string, string> = {}): Promise<RunningSupervisor> {
  return startSupervisor({ config: first.config, port: first.port, basePort: first.basePort, env: { ...env, ...more }, waitReady: [] });
}

const adoptedLine = (sup: RunningSupervisor) => sup.proc.lines.find((l) => l.msg === 'took back the workers of the earlier supervisor') as { workers: string[]; ms: number } | undefined;

test('kill -9 of the supervisor, then a new one: every worker taken back as it was, within a second', async (t) => {
  const first = await startSupervisor({ profiles, env });
  t.after(() => first.cleanup());
  // One crash first: the restart count must survive the supervisor.
  const crashed = (await first.worker('b'))!;
  process.kill(crashed.pid!, 'SIGKILL');
  await first.waitForState('b', 'ready', 10_000, (w) => w.pid !== crashed.pid && w.restarts === 1);
  const before = await first.waitForReady(profiles);
  const lineBefore = (await first.get('/supervisor/api/workers/a/logs')).body.lines.find((l: any) => typeof l.msg === 'string' && l.msg.includes('listening on'));
  assert.ok(lineBefore, 'the worker said it listens');

  process.kill(first.proc.pid, 'SIGKILL');
  await first.proc.exited();
  const second = await again(first);
  t.after(() => second.cleanup());
  const after = await second.waitForReady(profiles, 5000);
  const took = adoptedLine(second);
  assert.ok(took, second.proc.output().slice(-3000));
  assert.deepEqual(took.workers.sort(), profiles);
  assert.ok(took.ms < 1000, `adoption took ${took.ms} ms`);
  for (const h of profiles) {
    const [b, a] = [before.get(h)!, after.get(h)!];
    assert.equal(a.pid, b.pid, `${h}: the same process`);
    assert.equal(a.port, b.port, `${h}: the same port`);
    assert.ok(Math.abs(Date.parse(a.started_at!) - Date.parse(b.started_at!)) <= 50, `${h}: its real start (${b.started_at}), not the adoption (${a.started_at})`);
    assert.ok(a.uptime_ms! >= b.uptime_ms!, `${h}: its uptime goes on`);
    assert.equal(a.restarts, b.restarts, `${h}: its restarts`);
    assert.equal(a.version, 'current');
    const reply = await second.get(`/p/${h}/healthz`);
    assert.equal(reply.status, 200, reply.text);
    assert.equal(reply.body.profile, h);
  }
  assert.equal(after.get('b')!.restarts, 1);
  // The logs view shows what the worker said before the restart (it kept its recent lines).
  const lines = (await second.get('/supervisor/api/workers/a/logs')).body.lines;
  assert.ok(lines.some((l: any) => l.msg === lineBefore.msg && l.time === lineBefore.time), 'the line from before the restart is in the logs view');
  // And what it says now reaches the logs view too.
  await second.post('/supervisor/api/workers/a/restart');
  const restarted = await second.waitForState('a', 'ready', 10_000, (w) => w.pid !== before.get('a')!.pid);
  assert.ok(!isRunning(before.get('a')!.pid!), 'an adopted worker is stopped like any other');
  assert.ok(restarted.pid);
});

test('changes made while no supervisor ran: a deleted profile\'s worker stops, a changed credentials file recycles its worker', async (t) => {
  const first = await startSupervisor({ profiles: ['a', 'b', 'c'], env });
  t.after(() => first.cleanup());
  const before = await first.waitForReady(['a', 'b', 'c']);
  first.proc.child.kill('SIGTERM');
  await first.proc.exited();
  assert.ok(isRunning(before.get('a')!.pid!), 'SIGTERM leaves the workers');
  fs.rmSync(first.config.file('tokens', 'token_b.json'));
  const creds = await first.config.readJson('google_creds/credentials_c.json');
  await first.config.writeJson('google_creds/credentials_c.json', { installed: { ...creds.installed, project_id: 'rotated' } });

  const second = await again(first);
  t.after(() => second.cleanup());
  await waitFor('b\'s worker to stop', () => !isRunning(before.get('b')!.pid!), STOP_TIMEOUT_MS + SLACK_MS);
  const c = await second.waitForState('c', 'ready', 15_000, (w) => w.pid !== before.get('c')!.pid);
  assert.ok(c.pid);
  assert.equal((await second.worker('a'))!.pid, before.get('a')!.pid, 'a was taken back as it was');
  assert.equal(await second.worker('b'), undefined, 'no worker for the deleted profile');
});

test('a pid that now belongs to another process is neither taken back nor touched', async (t) => {
  const first = await startSupervisor({ profiles, env });
  t.after(() => first.cleanup());
  const before = await first.waitForReady(profiles);
  process.kill(first.proc.pid, 'SIGKILL');
  await first.proc.exited();
  // While no supervisor runs, a's worker dies and its pid goes to another program (here: its record is
  // pointed at another process, which is what a reused pid looks like to the next supervisor).
  const a = before.get('a')!;
  process.kill(a.pid!, 'SIGKILL');
  await waitFor('a to be gone', () => !isRunning(a.pid!), 5000);
  const other = spawn('sleep', ['60'], { stdio: 'ignore' });
  t.after(() => other.kill('SIGKILL'));
  const file = `${workerRecordsDir(runtimeDir(first.config.dir, first.port))}/a.json`;
  const record = JSON.parse(fs.readFileSync(file, 'utf8'));
  fs.writeFileSync(file, JSON.stringify({ ...record, pid: other.pid }), { mode: 0o600 });

  const second = await again(first);
  t.after(() => second.cleanup());
  const after = await second.waitForReady(profiles, 15_000);
  assert.ok(isRunning(other.pid!), 'the other program was not touched');
  assert.notEqual(after.get('a')!.pid, other.pid, 'nor taken for a worker');
  assert.notEqual(after.get('a')!.pid, a.pid);
  assert.equal(after.get('b')!.pid, before.get('b')!.pid, 'b was taken back');
  assert.deepEqual(adoptedLine(second)?.workers, ['b']);
});

test('a worker of another version is taken back, shown as older, and moved to this version on request', async (t) => {
  const first = await startSupervisor({ profiles, env });
  t.after(() => first.cleanup());
  const before = await first.waitForReady(profiles);
  first.proc.child.kill('SIGTERM');
  await first.proc.exited();
  // The next supervisor runs with other settings (as after an upgrade of the code or a settings change).
  const second = await again(first, { LOG_LEVEL: 'trace' });
  t.after(() => second.cleanup());
  const adopted = await second.waitForReady(profiles, 5000);
  for (const h of profiles) {
    assert.equal(adopted.get(h)!.pid, before.get(h)!.pid);
    assert.equal(adopted.get(h)!.version, 'older', `${h} runs the earlier settings`);
  }
  const page = await second.get('/', { accept: 'text/html' });
  assert.equal(page.status, 200);

  const moved = await second.post('/supervisor/api/workers/upgrade');
  assert.equal(moved.status, 202, moved.text);
  assert.deepEqual(moved.body.moving.sort(), profiles);
  // One by one: never both recycling at once.
  const seen = new Set<string>();
  await waitFor(
    'every worker to run this version',
    async () => {
      const list = await second.workers();
      const busy = list.filter((w) => w.state !== 'ready').length;
      assert.ok(busy <= 1, `two workers moved at once: ${JSON.stringify(list.map((w) => [w.handle, w.state]))}`);
      for (const w of list) if (w.version === 'current' && w.pid !== before.get(w.handle!)!.pid) seen.add(w.handle!);
      return seen.size === profiles.length && list.every((w) => w.state === 'ready') ? true : null;
    },
    30_000,
  );
  const again2 = await second.post('/supervisor/api/workers/upgrade');
  assert.deepEqual(again2.body.moving, [], 'nothing older is left');
});
