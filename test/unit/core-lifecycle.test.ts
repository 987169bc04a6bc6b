// The worker state machine against a fake process: starting → ready, a graceful recycle that drains first,
// a start that times out, a crash and its backoff, a crash loop → errored, a stop (docs/architecture.md,
// "The worker state machine").
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createLogger } from '../../shared/runtime/logger.ts';
import type { Lease, Refusal } from '../../supervisor/proxy/admission.ts';
import { WorkerLifecycle, type WorkerState } from '../../supervisor/workers/worker-lifecycle.ts';
import type { WorkerSpec } from '../../supervisor/workers/worker-spec.ts';
import { FakeSpawner, testSpec } from '../helpers/fake-spawner.ts';
import { waitFor } from '../helpers/processes.ts';

const spec = (changes: Partial<WorkerSpec> = {}) => testSpec('nick.tat', changes);

function lifecycle(options: { startTimeoutMs?: number; maxRestarts?: number } = {}) {
  const spawner = new FakeSpawner();
  const states: WorkerState[] = [];
  let retriesDue = 0;
  const worker = new WorkerLifecycle(spec(), {
    spawn: spawner.spawn,
    settings: { START_TIMEOUT_MS: options.startTimeoutMs ?? 2000, STOP_TIMEOUT_MS: 1000, MAX_RESTARTS: options.maxRestarts ?? 5, RESTART_WINDOW_MS: 60_000 },
    log: createLogger({ level: 'silent' }),
   
    backoff: { baseDelayMs: 30, maxDelayMs: 60 },
    onEvent: (event) => {
      if (event.kind === 'retry-due') retriesDue += 1;
      else if (event.kind === 'state') states.push(event.to);
    },
  });
  return { worker, spawner, states, retriesDue: () => retriesDue };
}

const isLease = (r: Lease | Refusal): r is Lease => r.ok;

test('start: requests are held while it starts and leased, in order, once it is ready', async () => {
  const { worker, spawner, states } = lifecycle();
  spawner.behaviour.set('nick.tat', 'hang');
  await worker.start(spec()); // the process is spawned; it has not said `ready`
  assert.equal(worker.state, 'starting');
  const order: number[] = [];
  const held = [1, 2, 3].map((n) => worker.admission.acquire(5000).then((r) => (order.push(n), r)));
  assert.equal(worker.admission.held, 3);
  spawner.last('nick.tat')!.ready();
  const results = await Promise.all(held);
  assert.ok(results.every(isLease));
  assert.deepEqual(order, [1, 2, 3]);
  assert.deepEqual(states, ['starting', 'ready']);
  assert.equal(worker.status().port, 7001);
  assert.equal(worker.status().in_flight, 3);
  for (const lease of results) (lease as Lease).release();
  assert.equal(worker.status().in_flight, 0);
  await worker.stop('test over');
});

test('recycle: drains the in-flight request before stopping, holds new ones, then serves them from the new process', async () => {
  const { worker, spawner, states } = lifecycle();
  await worker.start(spec());
  await worker.settled();
  const inFlight = worker.admission.tryLease()!;
  assert.ok(inFlight);
  const recycled = worker.recycle(spec({ restarts: 1 }), 'restart requested');
  await waitFor('draining', () => worker.state === 'draining');
  const heldDuringDrain = worker.admission.acquire(5000);
  assert.equal(spawner.of('nick.tat')[0]!.running, true, 'the old process waits for its in-flight request');
  inFlight.release();
  await recycled;
  await worker.settled();
  assert.equal(spawner.of('nick.tat')[0]!.endedBy, 'stop');
  const lease = await heldDuringDrain;
  assert.ok(isLease(lease), 'the request held during the recycle was served, not refused');
  assert.equal(lease.generation, 2);
  lease.release();
  assert.deepEqual(states, ['starting', 'ready', 'draining', 'starting', 'ready']);
  assert.equal(worker.spec.restarts, 1, 'the spec it was recycled for is the one it runs');
  assert.equal(worker.status().restarts, 0, 'a recycle is not a crash');
  await worker.stop('test over');
});

test('a recycle asked for during a start: the process being stopped gets no request, even when it says ready before it goes', async () => {
  const { worker, spawner, states } = lifecycle();
  spawner.behaviour.set('nick.tat', 'hang');
  await worker.start(spec());
  const first = spawner.last('nick.tat')!;
  first.slowStop = true;
  spawner.behaviour.set('nick.tat', 'ready');
  const recycled = worker.recycle(spec({ restarts: 1 }), 'switched to this profile');
  await waitFor('the stop of the first process to be asked for', () => first.stopAsked);
  first.ready(); // it finished listening just as its shutdown was on its way
  assert.equal(worker.state, 'starting');
  assert.equal(worker.admission.tryLease(), null, 'no request may go to a process that is being stopped');
  const held = worker.admission.acquire(5000);
  first.finishStop();
  await recycled;
  await worker.settled();
  const lease = await held;
  assert.ok(isLease(lease), 'the request held meanwhile was served by the next process');
  assert.equal(lease.generation, 2);
  lease.release();
  assert.deepEqual(states, ['starting', 'ready']);
  assert.equal(worker.status().restarts, 0, 'a recycle is not a crash');
  await worker.stop('test over');
});

test('a start that never says ready is killed at START_TIMEOUT_MS and counted as a crash', async () => {
  const { worker, spawner, retriesDue } = lifecycle({ startTimeoutMs: 100 });
  spawner.behaviour.set('nick.tat', 'hang');
  await worker.start(spec());
  const refusal = await worker.admission.acquire(50); // a hold shorter than the start: refused with a reason
  assert.ok(!refusal.ok);
  assert.equal(refusal.status, 503);
  assert.match(refusal.message, /did not become ready within 50 ms/);
  await waitFor('backoff', () => worker.state === 'backoff');
  assert.equal(spawner.last('nick.tat')!.endedBy, 'kill');
  const status = worker.status();
  assert.equal(status.last_exit?.reason, 'start_timeout');
  assert.equal(status.problem?.code, 'start_timeout');
  await waitFor('the retry to be due', () => worker.retryDue && retriesDue() === 1);
  await worker.stop('test over');
});

test('crash → backoff → retry → ready; repeated crashes → errored, requests refused at once with the last lines', async () => {
  const { worker, spawner, states } = lifecycle({ maxRestarts: 3 });
  await worker.start(spec());
  await worker.settled();
  spawner.last('nick.tat')!.crash(3);
  await waitFor('backoff', () => worker.state === 'backoff');
  assert.equal(worker.retryDue, false, 'not before the delay');
  const held = worker.admission.acquire(5000);
  await waitFor('the retry to be due', () => worker.retryDue);
  await worker.retry();
  await worker.settled();
  assert.equal(worker.state, 'ready');
  assert.ok(isLease(await held), 'the request held during the backoff was served');
  assert.equal(worker.status().restarts, 1);

  spawner.last('nick.tat')!.crash(3);
  await waitFor('the retry to be due', () => worker.retryDue);
  spawner.behaviour.set('nick.tat', 'crash');
  await worker.retry();
  await waitFor('errored', () => worker.state === 'errored');
  assert.equal(worker.status().restarts, 3);
  const refusal = await worker.admission.acquire(5000);
  assert.ok(!refusal.ok);
  assert.equal(refusal.extra.state, 'errored');
  assert.equal(refusal.retryAfterSeconds, 30);
  assert.ok((refusal.extra.last_log_lines as string[]).some((l) => l.includes('fake worker nick.tat')));
  assert.deepEqual(states.slice(0, 5), ['starting', 'ready', 'backoff', 'starting', 'ready']);
  assert.equal(states.at(-1), 'errored');

  // the way out: a recycle (a restart, or a change of its files)
  spawner.behaviour.set('nick.tat', 'ready');
  await worker.recycle(spec({ files: 'c1.t2' }), 'its files changed');
  await worker.settled();
  assert.equal(worker.state, 'ready');
  await worker.stop('test over');
});

test('stop: held requests are refused, new ones too, and the process is stopped gracefully', async () => {
  const { worker, spawner } = lifecycle();
  spawner.behaviour.set('nick.tat', 'hang');
  await worker.start(spec());
  const held = worker.admission.acquire(5000);
  await worker.stop('stop requested');
  assert.equal(worker.state, 'stopped');
  assert.equal(worker.goal, 'stopped');
  assert.equal(spawner.last('nick.tat')!.endedBy, 'stop');
  const refusal = await held;
  assert.ok(!refusal.ok);
  assert.match(refusal.message, /the worker was stopped/);
  const later = await worker.admission.acquire(5000);
  assert.ok(!later.ok);
  assert.equal(later.extra.state, 'stopped');
  assert.equal(worker.status().pid, null);
});

test('operations run one at a time: a stop asked for during a start wins, and nothing runs after it', async () => {
  const { worker, spawner } = lifecycle();
  const start = worker.start(spec());
  const stop = worker.stop('stop requested');
  await Promise.all([start, stop]);
  await worker.settled();
  assert.equal(worker.state, 'stopped');
  assert.ok(spawner.spawned.every((p) => !p.running));
});

test('idle: unused time counts only while ready with no request, stream or automation; sleep holds requests and asks for a start', async () => {
  let demands = 0;
  const spawner = new FakeSpawner();
  const worker = new WorkerLifecycle(spec({ idleAfterMs: 1000 }), {
    spawn: spawner.spawn,
    settings: { START_TIMEOUT_MS: 2000, STOP_TIMEOUT_MS: 1000, MAX_RESTARTS: 5, RESTART_WINDOW_MS: 60_000 },
    log: createLogger({ level: 'silent' }),
   
    onEvent: (event) => {
      if (event.kind === 'demand') demands += 1;
    },
  });
  await worker.start(spec());
  await worker.settled();
  await waitFor('some unused time', () => worker.idleForMs > 20);
  const lease = worker.admission.tryLease()!;
  assert.equal(worker.idleForMs, 0, 'a request in flight');
  lease.stream();
  assert.equal(worker.idleForMs, 0, 'a stream open');
  lease.release();
  spawner.last('nick.tat')!.message({ type: 'work', running: [{ name: 'pull-csv', limit_ms: 120_000 }] });
  assert.equal(worker.idleForMs, 0, 'an automation running');
  assert.deepEqual(worker.status().work, ['pull-csv']);
  spawner.last('nick.tat')!.message({ type: 'work', running: [] });
  await waitFor('unused again', () => worker.idleForMs > 0);

  await worker.sleep('unused');
  assert.equal(worker.state, 'idle');
  assert.equal(worker.goal, 'idle');
  assert.equal(spawner.last('nick.tat')!.endedBy, 'stop');
  const held = worker.admission.acquire(5000);
  const second = worker.admission.acquire(5000);
  assert.equal(demands, 1, 'the first held request asks for a start, once');
  await worker.start(spec());
  const [a, b] = await Promise.all([held, second]);
  assert.ok(isLease(a) && isLease(b), 'both held requests were served');
  a.release();
  b.release();
  await worker.stop('test over');
});

test('a recycle waits for the work in progress (pending, still serving), no longer than its limit; a stop does not wait', async () => {
  const { worker, spawner } = lifecycle();
  await worker.start(spec());
  await worker.settled();
  const first = spawner.last('nick.tat')!;
  first.message({ type: 'work', running: [{ name: 'pull-csv', limit_ms: 60_000 }] });
  const recycled = worker.recycle(spec({ restarts: 1 }), 'switched to this profile');
  await waitFor('the recycle to be pending', () => worker.status().pending !== null);
  const pending = worker.status().pending!;
  assert.equal(pending.reason, 'switched to this profile');
  assert.deepEqual(pending.waiting_for, ['pull-csv']);
  assert.equal(worker.state, 'ready', 'it keeps serving while the work runs');
  assert.ok(worker.admission.tryLease()?.release() === undefined, 'requests are still leased at once');
  assert.equal(first.running, true);
  first.message({ type: 'work', running: [] }); // the pull is done
  await recycled;
  await worker.settled();
  assert.equal(first.endedBy, 'stop');
  assert.equal(worker.status().pending, null);
  assert.equal(spawner.of('nick.tat').length, 2);

  // work that outlives its limit is not waited for beyond it
  const second = spawner.last('nick.tat')!;
  second.message({ type: 'work', running: [{ name: 'init-all', limit_ms: 150 }] });
  const started = performance.now();
  await worker.recycle(spec({ restarts: 2 }), 'restart requested');
  assert.ok(performance.now() - started >= 140, 'it waited for the limit');
  assert.equal(second.endedBy, 'stop');

  // a stop while a recycle waits: the stop goes at once, the recycle gives way
  const third = spawner.last('nick.tat')!;
  await worker.settled();
  third.message({ type: 'work', running: [{ name: 'pull-csv', limit_ms: 60_000 }] });
  void worker.recycle(spec({ restarts: 3 }), 'restart requested');
  await waitFor('pending', () => worker.status().pending !== null);
  const stopAt = performance.now();
  await worker.stop('supervisor stopping');
  assert.ok(performance.now() - stopAt < 2000, 'the stop did not wait for the work');
  assert.equal(worker.state, 'stopped');
  assert.equal(spawner.of('nick.tat').length, 3, 'the recycle gave way: no new process');
});

test('a crash is healed at once, whatever work was in progress', async () => {
  const { worker, spawner, retriesDue } = lifecycle();
  await worker.start(spec());
  await worker.settled();
  spawner.last('nick.tat')!.message({ type: 'work', running: [{ name: 'pull-csv', limit_ms: 60_000 }] });
  spawner.last('nick.tat')!.crash(1);
  await waitFor('the retry to be due', () => worker.retryDue && retriesDue() === 1);
  assert.deepEqual(worker.status().work, [], 'the work died with the process');
  await worker.retry();
  await worker.settled();
  assert.equal(worker.state, 'ready');
  await worker.stop('test over');
});
