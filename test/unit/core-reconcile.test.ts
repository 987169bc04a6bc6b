// Reconcile: the pure plan (desired specs × actual workers → actions), and the supervisor's loop against a
// fake spawner on a temp config dir — start, stop, recycle on a credentials change (with no watcher event),
// switch, requests from the API, crash → backoff → errored → recovered (docs/architecture.md, "The reconcile
// loop").
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import { createLogger } from '../../shared/runtime/logger.ts';
import { ProfileStore } from '../../shared/profiles/profile-store.ts';
import { loadSettings } from '../../shared/runtime/settings.ts';
import { PortRegistry } from '../../supervisor/control/port-registry.ts';
import { plan, type ActualWorker } from '../../supervisor/control/reconcile.ts';
import { Supervisor } from '../../supervisor/control/supervisor.ts';
import { SETUP_WORKER, type WorkerSpec } from '../../supervisor/workers/worker-spec.ts';
import { makeConfigDir, type TestConfigDir } from '../helpers/config-dir.ts';
import { FakeSpawner, testSpec } from '../helpers/fake-spawner.ts';
import { waitFor } from '../helpers/processes.ts';

// ——— the plan ———

const spec = testSpec;
const actual = (s: WorkerSpec, changes: Partial<ActualWorker> = {}): ActualWorker => ({ spec: s, goal: 'running', state: 'ready', retryDue: false, idleForMs: 0, demanded: false, ...changes });
const world = (...workers: ActualWorker[]) => new Map(workers.map((w) => [w.spec.name, w]));

test('plan: what should exist and does not is created; what exists and should not is removed', () => {
  assert.deepEqual(plan([spec('a')], world()), [{ kind: 'create', spec: spec('a') }]);
  assert.deepEqual(plan([], world(actual(spec('a')))), [{ kind: 'remove', name: 'a', reason: 'profile removed (token or credentials file gone)' }]);
  const setup = spec(SETUP_WORKER, { role: 'setup', port: 0 });
  assert.deepEqual(plan([spec('a')], world(actual(setup))), [
    { kind: 'remove', name: SETUP_WORKER, reason: 'a profile exists: first-run mode is over' },
    { kind: 'create', spec: spec('a') },
  ]);
});

test('plan: nothing to do when the world matches, whatever the state (level-triggered)', () => {
  for (const state of ['starting', 'ready', 'draining', 'backoff', 'errored'] as const) {
    assert.deepEqual(plan([spec('a')], world(actual(spec('a'), { state }))), [], state);
  }
  assert.deepEqual(plan([spec('a', { enabled: false })], world(actual(spec('a'), { goal: 'stopped', state: 'stopped' }))), []);
});

test('plan: a changed credentials file or a restart request recycles; a token change is only remembered', () => {
  const running = actual(spec('a'));
  assert.deepEqual(plan([spec('a', { config: 'c2', files: 'c2.t1' })], world(running)), [{ kind: 'recycle', spec: spec('a', { config: 'c2', files: 'c2.t1' }), reason: 'its credentials file changed' }]);
  const asked = spec('a', { restarts: 1, restartReason: 'switched to this profile' });
  assert.deepEqual(plan([asked], world(running)), [{ kind: 'recycle', spec: asked, reason: 'switched to this profile' }]);
  assert.deepEqual(plan([spec('a', { files: 'c1.t2' })], world(running)), [{ kind: 'accept', spec: spec('a', { files: 'c1.t2' }) }]);
});

test('plan: disabled stops, enabled starts, errored waits for a change of its files, backoff retries when due', () => {
  assert.deepEqual(plan([spec('a', { enabled: false })], world(actual(spec('a')))), [{ kind: 'stop', name: 'a', reason: 'stop requested' }]);
  assert.deepEqual(plan([spec('a')], world(actual(spec('a'), { goal: 'stopped', state: 'stopped' }))), [{ kind: 'start', spec: spec('a') }]);
  const errored = actual(spec('a'), { state: 'errored' });
  assert.deepEqual(plan([spec('a')], world(errored)), []);
  assert.deepEqual(plan([spec('a', { files: 'c1.t2' })], world(errored)), [{ kind: 'recycle', spec: spec('a', { files: 'c1.t2' }), reason: 'its files changed' }]);
  assert.deepEqual(plan([spec('a')], world(actual(spec('a'), { state: 'backoff', retryDue: false }))), []);
  assert.deepEqual(plan([spec('a')], world(actual(spec('a'), { state: 'backoff', retryDue: true }))), [{ kind: 'retry', name: 'a' }]);
});

test('plan: with idle stop, a worker unused long enough sleeps; a request or a start wakes it; a new non-current one is created asleep', () => {
  const idle = spec('a', { idleAfterMs: 1000 });
  assert.deepEqual(plan([idle], world(actual(idle, { idleForMs: 999 }))), []);
  assert.deepEqual(plan([idle], world(actual(idle, { idleForMs: 1000 }))), [{ kind: 'sleep', name: 'a' }]);
  assert.deepEqual(plan([idle], world(actual(idle, { idleForMs: 5000, state: 'starting' }))), [], 'only a ready worker goes to sleep');
  assert.deepEqual(plan([spec('a')], world(actual(spec('a'), { idleForMs: 10_000_000 }))), [], 'never without IDLE_TIMEOUT_MS');

  const asleep = actual(idle, { goal: 'idle', state: 'idle' });
  assert.deepEqual(plan([idle], world(asleep)), []);
  assert.deepEqual(plan([idle], world({ ...asleep, demanded: true })), [{ kind: 'start', spec: idle }]);
  const woken = spec('a', { idleAfterMs: 1000, wakes: 1 });
  assert.deepEqual(plan([woken], world(asleep)), [{ kind: 'start', spec: woken }]);
  const rotated = spec('a', { idleAfterMs: 1000, config: 'c2', files: 'c2.t1' });
  assert.deepEqual(plan([rotated], world(asleep)), [{ kind: 'accept', spec: rotated }], 'a sleeping worker starts with its new files when it wakes');

  const lazy = spec('b', { idleAfterMs: 1000, lazy: true });
  assert.deepEqual(plan([lazy], world()), [{ kind: 'create', spec: lazy }]);
});

// ——— the loop, against a fake spawner ———

interface Harness {
  config: TestConfigDir;
  spawner: FakeSpawner;
  supervisor: Supervisor;
  state(name: string): string | undefined;
  waitState(name: string, state: string): Promise<void>;
}

async function withSupervisor(profiles: string[], fn: (h: Harness) => Promise<void>, env: Record<string, string> = {}, maySwitch: (by: string, handle: string) => boolean = () => true) {
  const config = await makeConfigDir({ profiles });
  const spawner = new FakeSpawner();
  const log = createLogger({ level: 'silent' });
  const { settings } = await loadSettings(config.dir, { PORT: '7000', START_TIMEOUT_MS: '2000', STOP_TIMEOUT_MS: '500', ...env });
  const store = new ProfileStore(config.dir, log);
  const ports = await PortRegistry.load(store.paths.ports, settings.WORKER_BASE_PORT, [settings.PORT], log);
  const supervisor = new Supervisor({
    settings,
    store,
    ports,
    spawn: spawner.spawn,
    log,
   
    pinned: null,
    backoff: { baseDelayMs: 200, maxDelayMs: 400 },
    maySwitch,
  });
  const state = (name: string) => supervisor.list().find((w) => w.name === name)?.state;
  const waitState = async (name: string, wanted: string) => {
    await waitFor(`${name} to be ${wanted}`, () => state(name) === wanted, 3000);
  };
  try {
    await fn({ config, spawner, supervisor, state, waitState });
  } finally {
    await supervisor.shutdown();
    await config.remove();
  }
}

test('loop: one worker per valid profile, on its port; nothing more on later passes', () =>
  withSupervisor(['a', 'b'], async ({ spawner, supervisor, waitState }) => {
    await supervisor.reconcile();
    await waitState('a', 'ready');
    await waitState('b', 'ready');
    assert.deepEqual(spawner.spawned.map((p) => [p.spec.name, p.spec.port]), [
      ['a', 7001],
      ['b', 7002],
    ]);
    assert.equal(supervisor.current, 'a');
    assert.equal(supervisor.firstRun, false);
    await supervisor.reconcile();
    await supervisor.reconcile();
    assert.equal(spawner.spawned.length, 2, 'passes over an unchanged world act on nothing');
  }));

test('loop: first-run mode is a setup worker, replaced by the profile once one exists', () =>
  withSupervisor([], async ({ config, spawner, supervisor, waitState }) => {
    await supervisor.reconcile();
    await waitState(SETUP_WORKER, 'ready');
    assert.equal(supervisor.firstRun, true);
    assert.equal(supervisor.apiWorker()?.name, SETUP_WORKER);
    await config.addProfile('nick.tat');
    await supervisor.reconcile();
    await waitState('nick.tat', 'ready');
    await waitFor('the setup worker to be stopped', () => !spawner.last(SETUP_WORKER)!.running, 3000);
    assert.equal(spawner.last(SETUP_WORKER)!.endedBy, 'stop');
    assert.equal(supervisor.firstRun, false);
    assert.equal(supervisor.apiWorker()?.name, 'nick.tat');
    assert.deepEqual(supervisor.list().map((w) => w.name), ['nick.tat']);
  }));

test('loop: a removed profile\'s worker is stopped and forgotten; the others are untouched', () =>
  withSupervisor(['a', 'b'], async ({ config, spawner, supervisor, waitState }) => {
    await supervisor.reconcile();
    await waitState('b', 'ready');
    await fs.rm(config.file('tokens/token_a.json'));
    await supervisor.reconcile();
    await waitFor('a to be gone', () => !supervisor.worker('a'), 3000);
    await waitFor('a\'s process to be stopped', () => !spawner.last('a')!.running, 3000);
    assert.equal(spawner.last('a')!.endedBy, 'stop');
    assert.equal(spawner.of('b').length, 1);
    assert.equal(spawner.last('b')!.running, true);
    assert.equal(supervisor.current, 'b');
  }));

test('loop: a changed credentials file recycles that worker, seen by a pass with no watcher event', () =>
  withSupervisor(['a', 'b'], async ({ config, spawner, supervisor, waitState }) => {
    await supervisor.reconcile();
    await waitState('a', 'ready');
    await waitState('b', 'ready');
    await config.addCredentials('a', { project_id: 'rotated' });
    await supervisor.reconcile(); // what the periodic resync does: no event says which file changed
    await waitFor('a second a process', () => spawner.of('a').length === 2, 3000);
    await waitState('a', 'ready');
    assert.equal(spawner.of('a')[0]!.endedBy, 'stop', 'the old process was stopped gracefully');
    assert.equal(spawner.of('b').length, 1, 'b was not recycled');
    await supervisor.reconcile();
    assert.equal(spawner.of('a').length, 2, 'one recycle per change');
  }));

test('loop: a token written by the worker itself (refresh) recycles nothing', () =>
  withSupervisor(['a'], async ({ config, spawner, supervisor, waitState }) => {
    await supervisor.reconcile();
    await waitState('a', 'ready');
    await config.writeJson('tokens/token_a.json', { token: 'ya29.new', refresh_token: '1//r' });
    await supervisor.reconcile();
    assert.equal(spawner.of('a').length, 1);
  }));

test('loop: a switch points /api at the target and recycles only it', () =>
  withSupervisor(['a', 'b', 'c'], async ({ config, spawner, supervisor, waitState }) => {
    await supervisor.reconcile();
    for (const h of ['a', 'b', 'c']) await waitState(h, 'ready');
    await config.writeJson('last_profile.json', { last_profile: 'b' }); // what the worker's switch route writes
    await supervisor.switchTo('b'); // resolves once b's new process is ready
    assert.equal(supervisor.current, 'b');
    assert.equal(supervisor.apiWorker()?.name, 'b');
    assert.equal(spawner.of('b').length, 2);
    assert.equal(spawner.of('b')[0]!.endedBy, 'stop');
    assert.equal(spawner.last('b')!.running, true);
    assert.equal(spawner.of('a').length, 1);
    assert.equal(spawner.of('c').length, 1);
    assert.equal(supervisor.list().find((w) => w.name === 'b')!.is_current, true);
  }));

test("loop: a worker's switch message is carried out only for a person who may switch to that profile", () =>
  withSupervisor(
    ['a', 'b'],
    async ({ spawner, supervisor, waitState }) => {
      await supervisor.reconcile();
      for (const h of ['a', 'b']) await waitState(h, 'ready');
      spawner.last('a')!.message({ type: 'switch', handle: 'b', by: 'lisa' });
      spawner.last('a')!.message({ type: 'switch', handle: 'b', by: 'unknown' });
      await supervisor.reconcile();
      assert.equal(spawner.of('b').length, 1, "lisa may not switch to b: its worker is not touched");
      spawner.last('a')!.message({ type: 'switch', handle: 'b', by: 'root' });
      await waitFor('b to be recycled for root', () => spawner.of('b').length === 2, 3000);
      await waitState('b', 'ready');
    },
    {},
    (by, handle) => by === 'root' || (by === 'lisa' && handle === 'a'),
  ));

test('loop: stop, start and restart from the API are requests the loop keeps honouring', () =>
  withSupervisor(['a', 'b'], async ({ config, spawner, supervisor, state, waitState }) => {
    await supervisor.reconcile();
    await waitState('a', 'ready');
    await supervisor.stopWorker('a');
    assert.equal(state('a'), 'stopped');
    await config.addProfile('c');
    await supervisor.reconcile();
    await waitState('c', 'ready');
    assert.equal(state('a'), 'stopped', 'a stopped worker stays stopped while other changes are reconciled');
    assert.equal(spawner.of('a').length, 1);

    await supervisor.startWorker('a');
    assert.equal(state('a'), 'ready');
    assert.equal(spawner.of('a').length, 2);

    await supervisor.restart('a');
    assert.equal(state('a'), 'ready');
    assert.equal(spawner.of('a').length, 3);
    assert.equal(spawner.of('a')[1]!.endedBy, 'stop');
    await supervisor.reconcile();
    assert.equal(spawner.of('a').length, 3, 'a restart request is carried out once');
  }));

test('loop: crash → backoff → retried; a crash loop → errored until its files change → recovered', () =>
  withSupervisor(
    ['a', 'ok'],
    async ({ config, spawner, supervisor, waitState }) => {
      await supervisor.reconcile();
      await waitState('a', 'ready');
      await waitState('ok', 'ready');

      // one crash: backoff, then the loop's retry brings it back
      spawner.last('a')!.crash(1);
      await waitState('a', 'backoff');
      await waitState('a', 'ready');
      assert.equal(spawner.of('a').length, 2);
      assert.equal(supervisor.list().find((w) => w.name === 'a')!.restarts, 1);

      // a crash loop: every new process crashes at once
      spawner.behaviour.set('a', 'crash');
      spawner.last('a')!.crash(1);
      await waitState('a', 'errored');
      const errored = supervisor.list().find((w) => w.name === 'a')!;
      assert.equal(errored.last_exit?.code, 1);
      assert.equal(errored.last_exit?.reason, 'exited_during_start');
      const spawnedWhenErrored = spawner.of('a').length;
      await supervisor.reconcile();
      assert.equal(spawner.of('a').length, spawnedWhenErrored, 'errored stays errored while nothing changes');

      // the cause is fixed and its credentials file changes: the next pass tries again
      spawner.behaviour.set('a', 'ready');
      await config.addCredentials('a', { project_id: 'fixed' });
      await supervisor.reconcile();
      await waitState('a', 'ready');
      assert.equal(spawner.of('ok').length, 1, 'the other worker was never touched');
    },
    { MAX_RESTARTS: '3' },
  ));

test('loop: with IDLE_TIMEOUT_MS only the current profile starts; a request wakes another; unused workers go back to sleep', () =>
  withSupervisor(
    ['a', 'b', 'c'],
    async ({ spawner, supervisor, state, waitState }) => {
      await supervisor.reconcile();
      await waitState('a', 'ready');
      assert.equal(state('b'), 'idle');
      assert.equal(state('c'), 'idle');
      assert.equal(spawner.of('b').length, 0, 'b was never started');

      // a request for b is held, asks for b to start, and gets its lease once b is ready
      const lease = await supervisor.worker('b')!.admission.acquire(3000);
      assert.ok(lease.ok, 'the request was answered, not refused');
      assert.equal(state('b'), 'ready');
      assert.equal(spawner.of('b').length, 1);
      lease.release();

      // unused for IDLE_TIMEOUT_MS: back to sleep, gracefully; a lease held keeps a worker awake
      const busy = supervisor.worker('a')!.admission.tryLease()!;
      await waitState('b', 'idle');
      assert.equal(spawner.last('b')!.endedBy, 'stop');
      assert.equal(state('a'), 'ready', 'a is in use');
      busy.release();
      await waitState('a', 'idle');

      // the dashboard's Start wakes a sleeping worker
      await supervisor.startWorker('c');
      assert.equal(state('c'), 'ready');
    },
    { IDLE_TIMEOUT_MS: '400' },
  ));
