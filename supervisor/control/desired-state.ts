import type { Handle } from '../../shared/profiles/handle.ts';
import type { ProfileStore } from '../../shared/profiles/profile-store.ts';
import { chooseCurrent, type CurrentProfile } from '../../shared/profiles/current-profile.ts';
import type { PortRegistry } from './port-registry.ts';
import type { WorkerRequests } from './worker-requests.ts';
import { SETUP_WORKER, type WorkerSpec } from '../workers/worker-spec.ts';

/** What the files under the config dir say, as far as this supervisor is concerned. */
export interface ConfigSnapshot {
  /** Valid profiles (token and credentials file) within `PROFILES`, sorted. */
  profiles: Handle[];
  fingerprints: Map<Handle, { credentials: string; token: string }>;
  lastProfile: Handle | null;
  ports: Map<Handle, number>;
}

export interface DesiredState {
  /** Where the guide's unprefixed `/api/…` goes; `null` in first-run mode. */
  current: CurrentProfile;
  workers: WorkerSpec[];
}

/** Reads the snapshot: two directory listings, last_profile.json, and each profile's two small files.
 *  New profiles get their stable port here (saved to ports.json). */
export async function readConfigSnapshot(store: ProfileStore, ports: PortRegistry, shard: readonly Handle[] | undefined): Promise<ConfigSnapshot> {
  const [valid, lastProfile] = await Promise.all([store.validHandles(), store.readLastProfile()]);
  const profiles = shard ? valid.filter((h) => shard.includes(h)) : valid;
  const [fingerprints, portMap] = await Promise.all([
    Promise.all(profiles.map(async (h) => [h, await store.fingerprints(h)] as const)),
    ports.portsFor(profiles),
  ]);
  return { profiles, fingerprints: new Map(fingerprints), lastProfile, ports: portMap };
}

/** The workers that should exist and where `/api` goes: a pure function of the snapshot, the pinned
 *  profile (BLAZE_PROFILE given to the supervisor), `IDLE_TIMEOUT_MS`, and what was asked through the API. */
export function desiredState(snapshot: ConfigSnapshot, options: { pinned: Handle | null; idleAfterMs: number }, requests: WorkerRequests): DesiredState {
  const current = chooseCurrent(snapshot.profiles, { pinned: options.pinned, last: snapshot.lastProfile });
  if (snapshot.profiles.length === 0) {
    const setup: WorkerSpec = { name: SETUP_WORKER, role: 'setup', port: 0, config: '', files: '', restarts: 0, restartReason: '', enabled: true, idleAfterMs: 0, wakes: 0, lazy: false };
    return { current, workers: [setup] };
  }
  const workers = snapshot.profiles.map((handle): WorkerSpec => {
    const prints = snapshot.fingerprints.get(handle) ?? { credentials: '', token: '' };
    const port = snapshot.ports.get(handle);
    if (port === undefined) throw new Error(`no port for "${handle}"`);
    return {
      name: handle,
      role: 'profile',
      port,
      config: prints.credentials,
      files: `${prints.credentials}.${prints.token}`,
      ...requests.of(handle),
      idleAfterMs: options.idleAfterMs,
      lazy: options.idleAfterMs > 0 && handle !== current.handle,
    };
  });
  return { current, workers };
}
