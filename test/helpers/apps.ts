// Both processes' Koa apps built in this process, as their main modules build them, for tests that ask
// them something without starting a process (their routes, their declarations, their answers).
import type Koa from 'koa';
import { Registry } from 'prom-client';
import { createLogger } from '../../shared/runtime/logger.ts';
import { FileViews } from '../../shared/files/file-views.ts';
import { ProfileStore } from '../../shared/profiles/profile-store.ts';
import { loadSettings } from '../../shared/runtime/settings.ts';
import { UserStore } from '../../shared/access/users.ts';
import { Gate } from '../../supervisor/access/gate.ts';
import { Identities } from '../../supervisor/access/identity.ts';
import { SignInLimits } from '../../supervisor/access/sign-in-limits.ts';
import { createSupervisorApp } from '../../supervisor/web/app.ts';
import { PortRegistry } from '../../supervisor/control/port-registry.ts';
import { Supervisor } from '../../supervisor/control/supervisor.ts';
import { WorkerAccess } from '../../worker/web/access.ts';
import { createWorkerApp } from '../../worker/web/app.ts';
import { LazyProfile } from '../../worker/profile/lazy-profile.ts';
import { WorkerEvents } from '../../worker/profile/events.ts';
import { RestoreState } from '../../worker/work/restore-state.ts';
import { SessionManager } from '../../worker/session/session-manager.ts';
import { FakeSpawner } from './fake-spawner.ts';

const silent = createLogger({ level: 'silent' });

/** The supervisor's Koa app over `configDir`, with a spawner that starts no process. */
export async function supervisorApp(configDir: string, env: Record<string, string> = {}): Promise<Koa> {
  const { settings } = await loadSettings(configDir, { PORT: '7000', ...env });
  const store = new ProfileStore(configDir, silent);
  const ports = await PortRegistry.load(store.paths.ports, settings.WORKER_BASE_PORT, [settings.PORT], silent);
  const supervisor = new Supervisor({ settings, store, ports, spawn: new FakeSpawner().spawn, log: silent, pinned: null, maySwitch: () => false });
  const gate = new Gate({ identities: new Identities({ settings, users: new UserStore(store.paths.users), signIns: null }), log: silent });
  return createSupervisorApp(supervisor, { log: silent, settings, startedAt: 0, metrics: new Registry(), gate, signIns: null, limits: new SignInLimits({ windowMs: 1000 }) });
}

/** A worker's Koa app for `handle` over `configDir` (memory session store; nothing loaded until used).
 *  `secret`: the supervisor's, as the worker would have read it at its start. */
export async function workerApp(configDir: string, handle: string | null, env: Record<string, string> = {}, secret?: string): Promise<Koa> {
  const { settings } = await loadSettings(configDir, { SESSION_BACKEND: 'memory', ...env });
  // As worker/main.ts builds it: what it reads from the files is kept until they change.
  const store = new ProfileStore(configDir, silent, new FileViews(silent));
  const session = await SessionManager.open(handle, settings, silent);
  const deps = {
    handle,
    store,
    settings,
    log: silent,
    apiBase: '/api',
    notify: () => {},
    supervised: false,
    session,
    profile: handle ? new LazyProfile(() => Promise.reject(new Error('not loaded in this test'))) : null,
    events: new WorkerEvents(),
    restore: new RestoreState(),
  };
  return createWorkerApp(deps, new WorkerAccess({ settings, secret, handle, log: silent }));
}
