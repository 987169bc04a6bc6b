// The desired state, read from a temp config dir: which workers should exist, with which port and which
// fingerprints, and where /api goes (docs/architecture.md, "The reconcile loop").
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import { createLogger } from '../../shared/runtime/logger.ts';
import { ProfileStore } from '../../shared/profiles/profile-store.ts';
import { PortRegistry } from '../../supervisor/control/port-registry.ts';
import { desiredState, readConfigSnapshot } from '../../supervisor/control/desired-state.ts';
import { WorkerRequests } from '../../supervisor/control/worker-requests.ts';
import { SETUP_WORKER } from '../../supervisor/workers/worker-spec.ts';
import { makeConfigDir, type TestConfigDir } from '../helpers/config-dir.ts';

const silent = createLogger({ level: 'silent' });

async function withConfig(profiles: string[], fn: (c: { config: TestConfigDir; read: (shard?: string[]) => ReturnType<typeof readConfigSnapshot> }) => Promise<void>) {
  const config = await makeConfigDir({ profiles });
  try {
    const store = new ProfileStore(config.dir, silent);
    const ports = await PortRegistry.load(store.paths.ports, 7001, [7000], silent);
    await fn({ config, read: (shard) => readConfigSnapshot(store, ports, shard) });
  } finally {
    await config.remove();
  }
}

test('no valid profile: one setup worker, no current profile', () =>
  withConfig([], async ({ config, read }) => {
    await config.addCredentials('creds.only'); // credentials without a token are not a profile yet
    const desired = desiredState(await read(), { pinned: null, idleAfterMs: 0 }, new WorkerRequests());
    assert.deepEqual(desired.current, { handle: null, source: 'none' });
    assert.equal(desired.workers.length, 1);
    assert.equal(desired.workers[0]!.name, SETUP_WORKER);
    assert.equal(desired.workers[0]!.role, 'setup');
    assert.equal(desired.workers[0]!.port, 0);
  }));

test('valid profiles, sorted, each with a stable port saved to ports.json; the first is current', () =>
  withConfig(['zeta', 'alpha', 'mid'], async ({ config, read }) => {
    const desired = desiredState(await read(), { pinned: null, idleAfterMs: 0 }, new WorkerRequests());
    assert.deepEqual(
      desired.workers.map((w) => [w.name, w.role, w.port, w.enabled]),
      [
        ['alpha', 'profile', 7001, true],
        ['mid', 'profile', 7002, true],
        ['zeta', 'profile', 7003, true],
      ],
    );
    assert.deepEqual(await config.readJson('ports.json'), { alpha: 7001, mid: 7002, zeta: 7003 });
    assert.deepEqual(desired.current, { handle: 'alpha', source: 'first_valid' });
  }));

test('PROFILES limits the workers and the current profile to the shard', () =>
  withConfig(['a', 'b', 'c'], async ({ config, read }) => {
    await config.writeJson('last_profile.json', { last_profile: 'a' });
    const desired = desiredState(await read(['b', 'c']), { pinned: null, idleAfterMs: 0 }, new WorkerRequests());
    assert.deepEqual(desired.workers.map((w) => w.name), ['b', 'c']);
    assert.deepEqual(desired.current, { handle: 'b', source: 'first_valid' }, 'a is outside the shard');
    assert.deepEqual(await config.readJson('ports.json'), { b: 7001, c: 7002 }, 'no port for profiles of other shards');
  }));

test('the current profile: pinned → last_profile.json → first valid, each only when valid', () =>
  withConfig(['a', 'b', 'c'], async ({ config, read }) => {
    const requests = new WorkerRequests();
    await config.writeJson('last_profile.json', { last_profile: 'b' });
    assert.deepEqual(desiredState(await read(), { pinned: null, idleAfterMs: 0 }, requests).current, { handle: 'b', source: 'last_profile' });
    assert.deepEqual(desiredState(await read(), { pinned: 'c', idleAfterMs: 0 }, requests).current, { handle: 'c', source: 'BLAZE_PROFILE' });
    assert.deepEqual(desiredState(await read(), { pinned: 'gone', idleAfterMs: 0 }, requests).current, { handle: 'b', source: 'last_profile' });
    await fs.rm(config.file('tokens/token_b.json'));
    assert.deepEqual(desiredState(await read(), { pinned: null, idleAfterMs: 0 }, requests).current, { handle: 'a', source: 'first_valid' });
  }));

test('a changed credentials file changes the fingerprint that recycles; a token change only the files fingerprint', () =>
  withConfig(['a', 'b'], async ({ config, read }) => {
    const requests = new WorkerRequests();
    const before = desiredState(await read(), { pinned: null, idleAfterMs: 0 }, requests).workers;
    assert.deepEqual(desiredState(await read(), { pinned: null, idleAfterMs: 0 }, requests).workers, before, 'reading twice changes nothing');

    await config.addCredentials('a', { project_id: 'rotated' });
    const afterCredentials = desiredState(await read(), { pinned: null, idleAfterMs: 0 }, requests).workers;
    assert.notEqual(afterCredentials[0]!.config, before[0]!.config);
    assert.notEqual(afterCredentials[0]!.files, before[0]!.files);
    assert.deepEqual(afterCredentials[1], before[1], 'b is untouched');

    await config.writeJson('tokens/token_a.json', { token: 'ya29.refreshed', refresh_token: '1//r' });
    const afterToken = desiredState(await read(), { pinned: null, idleAfterMs: 0 }, requests).workers;
    assert.equal(afterToken[0]!.config, afterCredentials[0]!.config, 'a token refresh does not recycle');
    assert.notEqual(afterToken[0]!.files, afterCredentials[0]!.files);
  }));

test('requests made through the API are part of the desired state', () =>
  withConfig(['a', 'b'], async ({ read }) => {
    const requests = new WorkerRequests();
    requests.disable('a');
    requests.restart('b', 'switched to this profile');
    const [a, b] = desiredState(await read(), { pinned: null, idleAfterMs: 0 }, requests).workers;
    assert.equal(a!.enabled, false);
    assert.equal(a!.restarts, 0);
    assert.equal(b!.enabled, true);
    assert.equal(b!.restarts, 1);
    assert.equal(b!.restartReason, 'switched to this profile');
    requests.restart('a', 'restart requested');
    const [again] = desiredState(await read(), { pinned: null, idleAfterMs: 0 }, requests).workers;
    assert.equal(again!.enabled, true, 'a restart also enables');
    assert.equal(again!.restarts, 1);
  }));
