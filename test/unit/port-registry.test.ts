// The port registry (ports.json): stable ports, and the move of a handle whose port another program took
// (docs/architecture.md, "The worker state machine"); and the lifecycle's side of that move, with a fake
// process: no crash counted, started again at once, and a next reconcile pass that agrees.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import net from 'node:net';
import { createLogger } from '../../shared/runtime/logger.ts';
import { loadSettings } from '../../shared/runtime/settings.ts';
import { ProfileStore } from '../../shared/profiles/profile-store.ts';
import { PortRegistry, portIsFree, type PortRegistryOptions } from '../../supervisor/control/port-registry.ts';
import { Supervisor } from '../../supervisor/control/supervisor.ts';
import { WorkerLifecycle, type WorkerState } from '../../supervisor/workers/worker-lifecycle.ts';
import { makeConfigDir, type TestConfigDir } from '../helpers/config-dir.ts';
import { FakeSpawner, testSpec } from '../helpers/fake-spawner.ts';
import { freePortRange } from '../helpers/ports.ts';
import { waitFor } from '../helpers/processes.ts';

const silent = createLogger({ level: 'silent' });

async function withRegistry(
  ports: Record<string, number> | null,
  options: PortRegistryOptions & { reserved?: number[] },
  fn: (r: { registry: PortRegistry; config: TestConfigDir; saved: () => Promise<unknown> }) => Promise<void>,
) {
  const config = await makeConfigDir({ profiles: [] });
  try {
    if (ports) await config.writeJson('ports.json', ports);
    const file = config.file('ports.json');
    const registry = await PortRegistry.load(file, 7001, options.reserved ?? [7000], silent, options);
    await fn({ registry, config, saved: async () => JSON.parse(await fs.readFile(file, 'utf8')) });
  } finally {
    await config.remove();
  }
}

/** A probe that says the listed ports are taken and records every port it was asked about. */
function probe(busy: number[]) {
  const asked: number[] = [];
  return { asked, isFree: async (port: number) => (asked.push(port), !busy.includes(port)) };
}

test('move: skips the taken port, ports other handles hold, reserved ports and busy ones; saves ports.json', async () => {
  const p = probe([7005]);
  await withRegistry({ a: 7001, b: 7002, c: 7004 }, { reserved: [7000, 7003], isFree: p.isFree }, async ({ registry, saved }) => {
    assert.equal(await registry.move('a', 7001), 7006);
    assert.deepEqual(p.asked, [7005, 7006], 'ports held by other handles and reserved ones are skipped without probing');
    assert.deepEqual(await saved(), { a: 7006, b: 7002, c: 7004 });
    assert.deepEqual(await registry.portsFor(['a', 'b', 'c']), new Map([['a', 7006], ['b', 7002], ['c', 7004]]), 'the next pass reads the moved port');
  });
});

test('move: the port a handle moved away from is not given to a new handle', async () => {
  const p = probe([]);
  await withRegistry({ a: 7001 }, { isFree: p.isFree }, async ({ registry, saved }) => {
    assert.equal(await registry.move('a', 7001), 7002);
    assert.deepEqual(await registry.portsFor(['a', 'new']), new Map([['a', 7002], ['new', 7003]]));
    assert.deepEqual(await saved(), { a: 7002, new: 7003 });
  });
});

test('move: a handle already moved off the taken port gets its port back without a search', async () => {
  const p = probe([]);
  await withRegistry({ a: 7010 }, { isFree: p.isFree }, async ({ registry, saved }) => {
    assert.equal(await registry.move('a', 7001), 7010);
    assert.deepEqual(p.asked, []);
    assert.deepEqual(await saved(), { a: 7010 });
  });
});

test('move: the search is bounded; none free → null, and the handle keeps its port and ports.json is unchanged', async () => {
  const p = probe(Array.from({ length: 100 }, (_, i) => 7002 + i));
  await withRegistry({ a: 7001, b: 7003 }, { isFree: p.isFree, moveSearchSpan: 5 }, async ({ registry, saved }) => {
    assert.equal(await registry.move('a', 7001), null);
    assert.deepEqual(p.asked, [7002, 7004, 7005, 7006], 'taken + 1 … taken + span, b\'s port skipped');
    assert.deepEqual(await saved(), { a: 7001, b: 7003 });
    assert.equal((await registry.portsFor(['a'])).get('a'), 7001);
  });
  const top = probe([]);
  await withRegistry({ a: 65534 }, { isFree: async (port) => (top.asked.push(port), false) }, async ({ registry }) => {
    assert.equal(await registry.move('a', 65534), null);
    assert.deepEqual(top.asked, [65535], 'never above 65535');
  });
});

test('move: the default probe binds the port for real (a port another program listens on is skipped)', async () => {
  const base = await freePortRange(4);
  const squatters = await Promise.all([base, base + 1].map(async (port) => {
    const server = net.createServer();
    await new Promise<void>((resolve, reject) => server.listen(port, '127.0.0.1', resolve).once('error', reject));
    return server;
  }));
  try {
    assert.equal(await portIsFree(base), false);
    assert.equal(await portIsFree(base + 2), true);
    await withRegistry({ a: base }, {}, async ({ registry, saved }) => {
      assert.equal(await registry.move('a', base), base + 2);
      assert.deepEqual(await saved(), { a: base + 2 });
    });
    assert.equal(await portIsFree(base + 2), true, 'the probe released the port it found');
  } finally {
    await Promise.all(squatters.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
  }
});

test('move: with a corrupt ports.json the move holds in memory and the file is left as it is', async () => {
  const config = await makeConfigDir({ profiles: [] });
  try {
    const file = config.file('ports.json');
    await fs.writeFile(file, '{ not json');
    const registry = await PortRegistry.load(file, 7001, [7000], silent, { isFree: async () => true });
    assert.equal((await registry.portsFor(['a'])).get('a'), 7001);
    assert.equal(await registry.move('a', 7001), 7002);
    assert.equal((await registry.portsFor(['a'])).get('a'), 7002);
    assert.equal(await fs.readFile(file, 'utf8'), '{ not json');
    assert.equal(registry.savesToFile, false, 'so the dashboard does not say "saved in ports.json"');
  } finally {
    await config.remove();
  }
});

// ——— the lifecycle's side ———

function lifecycle(move?: (name: string, taken: number) => Promise<number | null>) {
  const movePort = move && (async (name: string, taken: number) => {
    const port = await move(name, taken);
    return port === null ? null : { port, saved: true };
  });
  const spawner = new FakeSpawner();
  const states: WorkerState[] = [];
  const worker = new WorkerLifecycle(testSpec('nick.tat'), {
    spawn: spawner.spawn,
    settings: { START_TIMEOUT_MS: 2000, STOP_TIMEOUT_MS: 1000, MAX_RESTARTS: 3, RESTART_WINDOW_MS: 60_000 },
    log: silent,
   
    backoff: { baseDelayMs: 30, maxDelayMs: 60 },
    onEvent: (event) => event.kind === 'state' && states.push(event.to),
    ...(movePort ? { movePort } : {}),
  });
  return { worker, spawner, states };
}

/** What a worker does when its port is taken: says so over IPC, then exits 75. */
function portConflict(spawner: FakeSpawner, name: string, port: number) {
  const proc = spawner.last(name)!;
  proc.message({ type: 'fatal', code: 'port_conflict', message: `port ${port} on 127.0.0.1 is already in use by another program`, port });
  proc.crash(75);
}

test('lifecycle: a taken port moves the worker and starts it again at once: no crash, no backoff', async () => {
  const asked: [string, number][] = [];
  const { worker, spawner, states } = lifecycle(async (name, taken) => (asked.push([name, taken]), 7021));
  spawner.behaviour.set('nick.tat', 'hang');
  await worker.start(testSpec('nick.tat'));
  const settled = worker.settled();
  spawner.behaviour.set('nick.tat', 'ready');
  portConflict(spawner, 'nick.tat', 7001);
  await settled; // waits for the process on the new port, not for the one that failed
  assert.equal(worker.state, 'ready');
  assert.deepEqual(asked, [['nick.tat', 7001]]);
  assert.deepEqual(spawner.of('nick.tat').map((p) => p.spec.port), [7001, 7021]);
  assert.deepEqual(states, ['starting', 'ready'], 'never backoff nor errored');
  const status = worker.status();
  assert.equal(status.port, 7021);
  assert.equal(status.direct_url, 'http://127.0.0.1:7021/');
  assert.equal(status.restarts, 0);
  assert.equal(status.last_exit, null);
  assert.equal(status.problem, null);
  assert.equal(status.port_moved?.from, 7001);
  assert.equal(status.port_moved?.to, 7021);
  assert.ok(!Number.isNaN(Date.parse(status.port_moved!.at)));
  // a spec read before the move was saved does not take the worker back to the old port
  worker.accept(testSpec('nick.tat', { port: 7001 }));
  assert.equal(worker.spec.port, 7021);
  await worker.stop('test over');
});

test('lifecycle: no port to move to → today\'s crash handling, with a message that says so', async () => {
  const { worker, spawner, states } = lifecycle(async () => null);
  spawner.behaviour.set('nick.tat', 'hang');
  await worker.start(testSpec('nick.tat'));
  portConflict(spawner, 'nick.tat', 7001);
  await waitFor('backoff', () => worker.state === 'backoff', 2000);
  const status = worker.status();
  assert.equal(status.restarts, 1);
  assert.equal(status.last_exit?.reason, 'port_conflict');
  assert.equal(status.problem?.code, 'port_conflict');
  assert.match(status.problem?.message ?? '', /port 7001 is in use by another program and no free port was found/);
  assert.equal(status.port_moved, null);
  assert.equal(status.port, 7001);
  assert.deepEqual(states, ['starting', 'backoff']);
  await worker.stop('test over');
});

test('lifecycle: moves in a row without becoming ready are bounded, then it is a crash', async () => {
  let next = 7020;
  const { worker, spawner } = lifecycle(async () => ++next);
  spawner.behaviour.set('nick.tat', 'hang');
  await worker.start(testSpec('nick.tat'));
  for (let i = 0; i < 3; i++) {
    const count = spawner.of('nick.tat').length;
    portConflict(spawner, 'nick.tat', spawner.last('nick.tat')!.spec.port);
    await waitFor('the next start', () => spawner.of('nick.tat').length === count + 1, 2000);
  }
  assert.equal(worker.status().restarts, 0);
  portConflict(spawner, 'nick.tat', 7023);
  await waitFor('backoff', () => worker.state === 'backoff', 2000);
  assert.equal(worker.status().restarts, 1);
  assert.deepEqual(worker.status().port_moved && { from: worker.status().port_moved!.from, to: worker.status().port_moved!.to }, { from: 7022, to: 7023 });
  await worker.stop('test over');
});

test('lifecycle: a stop during the move wins; the setup worker (port 0) is never moved', async () => {
  let release!: (port: number) => void;
  const { worker, spawner } = lifecycle(() => new Promise((resolve) => (release = resolve)));
  spawner.behaviour.set('nick.tat', 'hang');
  await worker.start(testSpec('nick.tat'));
  portConflict(spawner, 'nick.tat', 7001);
  await waitFor('the move to be asked for', () => release !== undefined, 2000);
  const stopped = worker.stop('stop requested');
  release(7021);
  await stopped;
  assert.equal(worker.state, 'stopped');
  assert.equal(spawner.of('nick.tat').length, 1, 'not started again');
  assert.equal(worker.spec.port, 7021, 'but it knows its new port');

  const asked: number[] = [];
  const setup = lifecycle(async (_name, taken) => (asked.push(taken), 7021));
  const setupSpec = testSpec('_setup', { role: 'setup', port: 0 });
  setup.spawner.behaviour.set('_setup', 'hang');
  await setup.worker.start(setupSpec);
  portConflict(setup.spawner, '_setup', 0);
  await waitFor('backoff', () => setup.worker.state === 'backoff', 2000);
  assert.deepEqual(asked, []);
  await setup.worker.stop('test over');
});

test('supervisor: a profile whose port is taken moves, ports.json holds the new port, and later passes change nothing', async () => {
  const config = await makeConfigDir({ profiles: ['a', 'b'] });
  const spawner = new FakeSpawner();
  const { settings } = await loadSettings(config.dir, { PORT: '7000', START_TIMEOUT_MS: '2000', STOP_TIMEOUT_MS: '500' });
  const store = new ProfileStore(config.dir, silent);
  const busy = new Set([7001, 7003]); // another program holds a's port and the one after b's
  const ports = await PortRegistry.load(store.paths.ports, settings.WORKER_BASE_PORT, [settings.PORT], silent, { isFree: async (port) => !busy.has(port) });
  const supervisor = new Supervisor({ settings, store, ports, spawn: spawner.spawn, log: silent, pinned: null, backoff: { baseDelayMs: 200, maxDelayMs: 400 }, maySwitch: () => true });
  try {
    spawner.behaviour.set('a', 'hang');
    await supervisor.reconcile();
    await waitFor('a to start', () => spawner.of('a').length === 1, 2000);
    spawner.behaviour.set('a', 'ready');
    portConflict(spawner, 'a', 7001);
    await waitFor('a to be ready', () => supervisor.worker('a')?.state === 'ready', 3000);
    assert.deepEqual(spawner.of('a').map((p) => p.spec.port), [7001, 7004]);
    assert.deepEqual(await config.readJson('ports.json'), { a: 7004, b: 7002 });
    const status = supervisor.list().find((w) => w.name === 'a')!;
    assert.equal(status.restarts, 0);
    assert.equal(status.direct_url, 'http://127.0.0.1:7004/');
    assert.deepEqual({ from: status.port_moved?.from, to: status.port_moved?.to }, { from: 7001, to: 7004 });
    for (let i = 0; i < 3; i++) await supervisor.reconcile();
    assert.equal(spawner.of('a').length, 2, 'no recycle, no flap');
    assert.equal(supervisor.worker('a')!.spec.port, 7004);
    assert.equal(spawner.of('b').length, 1);
  } finally {
    await supervisor.shutdown();
    await config.remove();
  }
});
