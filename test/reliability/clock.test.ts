// Clock independence: backoff, crash-loop windows and timeouts run on monotonic time, so a wall
// clock that jumps (NTP step, a person fixing the date, a VM resumed) changes nothing. Shown by behaviour:
// the RestartPolicy with its default clock while `Date` jumps by hours in this process, and a real
// supervisor whose `Date` jumps by hours several times a second while its worker is killed again and again.
import { test, mock } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { RestartPolicy } from '../../supervisor/workers/restart-policy.ts';
import { waitFor } from '../helpers/processes.ts';
import { startSupervisor } from '../helpers/supervisor.ts';
import { Evidence } from '../helpers/evidence.ts';
import { client } from '../helpers/http.ts';

const HOUR = 3_600_000;

test('RestartPolicy with its default clock: hours-long jumps of Date, forward and back, change no decision', (t) => {
  mock.timers.enable({ apis: ['Date'], now: Date.UTC(2030, 0, 1) });
  t.after(() => mock.timers.reset());
  const start = Date.now();

  // 3 crashes within a minute give up, although Date says they were hours apart (or went backwards)
  const policy = new RestartPolicy({ maxRestarts: 3, windowMs: 60_000 });
  assert.deepEqual(policy.recordExit(10), { action: 'restart', delayMs: 500 });
  mock.timers.setTime(start + 5 * HOUR);
  assert.equal(Date.now(), start + 5 * HOUR, 'the fake Date is in effect');
  assert.deepEqual(policy.recordExit(10), { action: 'restart', delayMs: 1000 });
  mock.timers.setTime(start - 30 * 24 * HOUR);
  assert.deepEqual(policy.recordExit(10), { action: 'give_up', exits: 3 });

  // the backoff doubles the same way whatever Date does between exits
  const backoff = new RestartPolicy({ maxRestarts: 100, windowMs: 60_000 });
  const delays: number[] = [];
  for (let i = 0; i < 8; i++) {
    mock.timers.setTime(start + (i % 2 === 0 ? 1 : -1) * (i + 1) * 24 * HOUR);
    const d = backoff.recordExit(10);
    assert.equal(d.action, 'restart');
    if (d.action === 'restart') delays.push(d.delayMs);
  }
  assert.deepEqual(delays, [500, 1000, 2000, 4000, 8000, 16000, 30000, 30000]);
});

test('RestartPolicy with its default clock follows the monotonic clock: the window passes when it does, not when Date says', (t) => {
  mock.timers.enable({ apis: ['Date'], now: Date.UTC(2030, 0, 1) });
  let mono = 1_000_000;
  mock.method(performance, 'now', () => mono);
  t.after(() => {
    mock.timers.reset();
    mock.restoreAll();
  });
  const policy = new RestartPolicy({ maxRestarts: 2, windowMs: 60_000 });
  assert.equal(policy.recordExit(10).action, 'restart');
  // Date frozen, a minute and a second passes on the monotonic clock: the first crash is forgotten
  mono += 61_000;
  assert.equal(policy.recordExit(10).action, 'restart');
  // Date jumps a day ahead, the monotonic clock one second: both crashes count
  mock.timers.setTime(Date.now() + 24 * HOUR);
  mono += 1000;
  assert.deepEqual(policy.recordExit(10), { action: 'give_up', exits: 2 });
});

test('a supervisor whose Date jumps by hours several times a second heals with the normal backoff and still detects a crash loop', async (t) => {
  // Loaded before the supervisor's and the workers' own code (NODE_OPTIONS is inherited by the workers).
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'tat-rel-clock-'));
  const preload = path.join(dir, 'jumpy-date.mjs');
  await fs.writeFile(
    preload,
    `const RealDate = Date;
const realNow = RealDate.now.bind(RealDate);
let offset = 0;
let step = 0;
setInterval(() => { step += 1; offset = (step % 2 === 0 ? 1 : -1) * step * 3 * 3600000; }, 150).unref();
class JumpyDate extends RealDate {
  constructor(...args) { if (args.length === 0) super(realNow() + offset); else super(...args); }
  static now() { return realNow() + offset; }
}
globalThis.Date = JumpyDate;
`,
  );
  const ev = new Evidence();
  const sup = await startSupervisor({
    profiles: ['a', 'b'],
    env: { NODE_OPTIONS: `--import=${preload}`, MAX_RESTARTS: '3', RESTART_WINDOW_MS: '60000' },
  });
  ev.watch('supervisor output', () => sup.proc.output());
  t.after(async () => {
    await sup.cleanup();
    await fs.rm(dir, { recursive: true, force: true });
  });
  const api = client(sup.port, { record: ev });
  // the preload is in effect: the timestamps of the supervisor's log lines (those written so far, and any
  // written while this waits) jump around by hours
  const spread = () => {
    const stamps = sup.proc.lines.map((l) => Date.parse(String(l.time))).filter(Number.isFinite);
    return Math.max(...stamps) - Math.min(...stamps);
  };
  await waitFor('the log timestamps to show the jumping clock (a spread of over an hour)', () => spread() > HOUR, 5000);
  assert.equal((await api.get('/healthz')).status, 200);

  // crash 1 → back after the 0.5 s backoff; crash 2 → after 1 s; crash 3 within the minute → errored
  const gaps: number[] = [];
  let previous = (await sup.worker('a'))!;
  for (let crash = 1; crash <= 2; crash++) {
    process.kill(previous.pid!, 'SIGKILL');
    const killed = performance.now();
    const started = await sup.waitForStarted('a', 10_000, previous.pid);
    gaps.push(performance.now() - killed);
    previous = await sup.waitForState('a', 'ready', 15_000, (w) => w.pid === started.pid);
  }
  assert.ok(gaps[0]! >= 400 && gaps[0]! < 2500, `first restart after ${Math.round(gaps[0]!)} ms (backoff 500 ms)`);
  assert.ok(gaps[1]! >= 900 && gaps[1]! < 3500, `second restart after ${Math.round(gaps[1]!)} ms (backoff 1000 ms)`);
  process.kill(previous.pid!, 'SIGKILL');
  const errored = await sup.waitForState('a', 'errored', 10_000);
  assert.equal(errored.restarts, 3);
  const refused = await api.get('/p/a/healthz');
  assert.equal(refused.status, 503);
  assert.equal(refused.body.state, 'errored');

  // b was never touched; a comes back when asked
  assert.equal((await api.get('/p/b/healthz')).status, 200);
  assert.equal((await sup.worker('b'))!.restarts, 0);
  assert.equal((await api.post('/supervisor/api/workers/a/restart')).status, 200);
  assert.equal((await api.get('/p/a/healthz')).status, 200);
  ev.assertClean();
});
