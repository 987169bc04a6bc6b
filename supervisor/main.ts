import { getCompileCacheDir } from 'node:module';
import { resolveConfigDir } from '../shared/profiles/paths.ts';
import { runningBuild } from '../shared/runtime/build-check.ts';
import { hostCheck } from '../shared/http/host-check.ts';
import { UserStore } from '../shared/access/users.ts';
import { Identities } from './access/identity.ts';
import { Gate } from './access/gate.ts';
import { ProxyGate } from './access/proxy-gate.ts';
import { SignInLimits } from './access/sign-in-limits.ts';
import { FileSignIns, RedisSignIns, type SignInStore } from './access/sign-ins.ts';
import { ConnectionLimits } from './proxy/connection-limits.ts';
import { decide } from '../shared/access/access-rules.ts';
import { trimMemoryWhenQuiet } from '../shared/runtime/memory-trim.ts';
import { createLogger, logDestination } from '../shared/runtime/logger.ts';
import { ProfileStore } from '../shared/profiles/profile-store.ts';
import { parseHandle } from '../shared/profiles/handle.ts';
import { ensureDir } from '../shared/files/json-file.ts';
import { closeGracefully, listen } from '../shared/http/http-server.ts';
import { loadSettingsOrExit, settingsFingerprint, settingsForWorkers } from '../shared/runtime/settings.ts';
import { activatedSocket } from '../shared/http/socket-activation.ts';
import { PortRegistry } from './control/port-registry.ts';
import { Supervisor } from './control/supervisor.ts';
import { Discovery } from './control/discovery.ts';
import { processSpawner } from './workers/worker-process.ts';
import { compileCacheDir, controlSocketPath, ensureRuntimeDir, removeRuntimeDir, requestSecret, runtimeDir, workerRecordsDir } from './workers/runtime-dir.ts';
import { WorkerLinks } from './workers/worker-links.ts';
import { WorkerRecords, processStartTime } from './workers/worker-records.ts';
import { findRecordedWorkers } from './workers/adoption.ts';
import { earlierSupervisor, forgetSupervisor, recordSupervisor } from './control/supervisor-record.ts';
import { WorkerProxy } from './proxy/proxy.ts';
import { WebSocketProxy } from './proxy/websocket-proxy.ts';
import { createSupervisorApp } from './web/app.ts';
import { createSupervisorServer } from './server.ts';
import { SupervisorMetrics } from './web/metrics.ts';
import { LandingPages } from './web/landing-pages.ts';

// `npm start`: one worker per profile behind one URL. How the pieces fit: docs/architecture.md.
const startedAt = performance.now();
const running = await runningBuild();
if (running.stale !== null) {
  process.stderr.write(`tat-mis supervisor cannot start: ${running.stale}\n`);
  process.exit(78);
}
const configDir = resolveConfigDir();
const { settings, warnings } = await loadSettingsOrExit(configDir, 'tat-mis supervisor');
// Readable, coloured lines on a terminal, JSON lines otherwise (pm2, journald); LOG_FORMAT=pretty|json forces one.
const destination = logDestination({ isTTY: process.stdout.isTTY === true, format: process.env.LOG_FORMAT });
const log = createLogger({ level: settings.LOG_LEVEL, name: 'supervisor', destination });
if (process.env.LOG_FORMAT && !['pretty', 'json'].includes(process.env.LOG_FORMAT)) log.warn({ LOG_FORMAT: process.env.LOG_FORMAT }, 'LOG_FORMAT is neither "pretty" nor "json"; ignored');
for (const warning of warnings) log.warn(warning);

try {
  await ensureDir(configDir, true);
} catch (error) {
  // A config dir this user may read but not change (another owner, read-only mount): keep serving what can be
  // read; every write reports its own error.
  log.error({ config_dir: configDir, code: (error as NodeJS.ErrnoException).code }, 'the config dir cannot be created or made private (0700); reads keep working, writes will fail');
}
const store = new ProfileStore(configDir, log);
const ports = await PortRegistry.load(store.paths.ports, settings.WORKER_BASE_PORT, [settings.PORT], log);
const pinnedRaw = process.env.BLAZE_PROFILE;
const pinned = pinnedRaw ? parseHandle(pinnedRaw) : null;
if (pinnedRaw) log.warn({ BLAZE_PROFILE: pinnedRaw }, 'BLAZE_PROFILE pins /api to this profile; switches will not move /api while it is set');

// The private runtime folder: the control socket every worker dials, and what is kept of each worker so that
// the next supervisor takes it back (docs/architecture.md, "Workers outlive the supervisor").
const runtime = runtimeDir(configDir, settings.PORT);
const controlSocket = ensureRuntimeDir(runtime) ? controlSocketPath(runtime) : null;
if (!controlSocket) {
  log.fatal({ runtime_dir: runtime }, 'the runtime folder cannot be made private to this user (another user owns it, or its path is too long for a socket); set RUNTIME_DIRECTORY to a folder of this user');
  process.exit(78);
}
const earlier = await earlierSupervisor(runtime, settings.STOP_TIMEOUT_MS + 2000);
if (earlier) {
  log.fatal({ pid: earlier.pid, port: earlier.port, config_dir: configDir }, `another supervisor (pid ${earlier.pid}) runs for this config dir; stop it first ("npm run stop")`);
  process.exit(75);
}
const links = new WorkerLinks(log);
const records = new WorkerRecords(workerRecordsDir(runtime));
// Proves to the workers that a request came through this supervisor (README, "Letting colleagues in").
const internalSecret = requestSecret(runtime);
const forWorkers = settingsForWorkers(settings);
/** Node's compile cache for the workers: the operator's NODE_COMPILE_CACHE, or the one the `npm start`
 *  launcher turned on (it sets the variable), else this user's private one. */
function compileCache(): { NODE_COMPILE_CACHE?: string } {
  const dir = process.env.NODE_COMPILE_CACHE ?? compileCacheDir();
  return dir ? { NODE_COMPILE_CACHE: dir } : {};
}

const { spawn, spares } = processSpawner({
  runtime,
  env: {
    // Compiled code of the worker's modules is cached on disk: every later start skips that work.
    ...compileCache(),
    // glibc gives every thread that allocates an arena of its own and keeps what they free: a worker's
    // threads (libuv's pool, V8's helpers) held ~4 MB of its idle RSS that two arenas do not (docs/benchmarks.md).
    MALLOC_ARENA_MAX: process.env.MALLOC_ARENA_MAX ?? '2',
    TAT_CONFIG_DIR: configDir,
  },
  start: { settings: forWorkers, secret: internalSecret },
  links,
  controlSocket,
  track: {
    spawned: (spec, spawned) =>
      void records
        .write({ name: spec.name, role: spec.role, pid: spawned.pid, proc_start: spawned.procStart, secret: spawned.controlSecret, started_at: Date.now(), port: spec.port, config: spec.config, files: spec.files, restarts: supervisor.restartsOf(spec.name), browser: null })
        .catch((error) => log.error({ err: error, name: spec.name }, 'cannot record the worker; a supervisor started after this one will not find it')),
    exited: (spec, pid) => void records.remove(spec.name, pid).catch(() => {}),
  },
  // With idle stop on, any request may wake a profile: a spare is kept so that it answers at once.
  spares: { always: settings.IDLE_TIMEOUT_MS > 0, log },
});
const users = new UserStore(store.paths.users);
const supervisor = new Supervisor({
  settings,
  store,
  ports,
  spawn,
  log,
  version: { build: running.fingerprint, settings: settingsFingerprint(forWorkers) },
  pinned,
  onWorkerEvent: (name, e) => {
    if (e.kind === 'browser') {
      const pid = supervisor.pidOf(name);
      const browser = e.pid === null ? null : { pid: e.pid, proc_start: processStartTime(e.pid) ?? '' };
      if (pid) void records.update(name, pid, { browser }).catch(() => {});
    }
    metrics.onWorkerEvent(name, e);
  },
  // A worker's switch message is carried out only for a profile the person it names may switch to.
  maySwitch: (by, handle) => {
    if (by === 'SUPERVISOR_TOKEN') return true;
    if (by === 'local') return settings.AUTH === 'none';
    const user = users.find(by);
    return user !== undefined && decide({ kind: 'user', user }, 'switch', handle, () => false).allow;
  },
});
const metrics = new SupervisorMetrics(() => supervisor.list());
if (settings.AUTH !== 'none' && users.list().length === 0 && !users.problem) {
  log.warn({ auth: settings.AUTH }, 'no users yet: add the first admin with "npm run user -- add <name> --admin" (it takes effect at once)');
}
if (users.problem) log.error({ file: store.paths.users }, users.problem);
const signIns: SignInStore | null =
  settings.AUTH !== 'local'
    ? null
    : settings.SESSION_BACKEND === 'redis'
      ? await RedisSignIns.open(settings.REDIS_URL ?? 'redis://127.0.0.1:6379/0', settings.REDIS_PREFIX, settings.AUTH_SESSION_TTL_MS, log)
      : await FileSignIns.open(store.paths.signIns, settings.AUTH_SESSION_TTL_MS, log);
const identities = new Identities({ settings, users, signIns });
const gate = new Gate({ identities, log });
const pages = new LandingPages({ store, settings, mayDo: (req, action, handle) => gate.mayDo(req, action, handle) });
const proxy = new WorkerProxy({
  log,
  proxyHeader: settings.AUTH_PROXY_HEADER,
  holdTimeoutMs: settings.START_TIMEOUT_MS,
  upstreamTimeoutMs: settings.PROXY_TIMEOUT_MS,
  observer: metrics.proxyObserver,
  answerError: (req, res, answer, headers) => pages.answerProxyError(req, res, answer, headers),
});
const app = createSupervisorApp(supervisor, { log, settings, startedAt, metrics: metrics.registry, gate, signIns, limits: new SignInLimits({ windowMs: settings.AUTH_LOCKOUT_MS }) });
const websockets = new WebSocketProxy({ log, holdTimeoutMs: settings.START_TIMEOUT_MS, proxyHeader: settings.AUTH_PROXY_HEADER });
const proxyGate = new ProxyGate({ gate, supervisor, proxy, websockets, log, internalSecret, pages });
const limits = new ConnectionLimits({ bodyTimeoutMs: settings.BODY_TIMEOUT_MS, maxPerClient: settings.MAX_CONNECTIONS_PER_CLIENT, log });
const server = createSupervisorServer({ supervisor, app, gate: proxyGate, hostAllowed: hostCheck(settings), pages, limits });

let discovery: Discovery | null = null;
/** The whole system stops: stops watching, then stops accepting and every worker in parallel; nothing is
 *  left for a next supervisor. */
async function stopEverything(): Promise<void> {
  spares?.close();
  await discovery?.close();
  await Promise.all([closeGracefully(server, settings.STOP_TIMEOUT_MS), supervisor.shutdown()]);
  await proxy.close();
  await signIns?.close();
  await links.close();
  forgetSupervisor(runtime);
  removeRuntimeDir(runtime);
}

/** This supervisor goes, its workers stay for the next one (a restart): no new connection is accepted (under
 *  systemd they wait in the socket's queue), the requests under way finish, the event streams end at once
 *  (pages reconnect by themselves), and the workers dial the next supervisor. */
async function leaveWorkers(): Promise<void> {
  spares?.close();
  supervisor.leave();
  await discovery?.close();
  const closing = closeGracefully(server, settings.STOP_TIMEOUT_MS);
  proxy.endStreams();
  await closing;
  await proxy.close();
  await signIns?.close();
  forgetSupervisor(runtime);
}

let stopping = false;
async function stop(signal: string, how: 'leave' | 'all'): Promise<void> {
  if (stopping) return;
  stopping = true;
  log.info({ signal }, how === 'all' ? 'stopping: draining workers' : 'restarting: the workers keep running for the next supervisor');
  // Whatever happens, exit within the promised bound.
  setTimeout(() => {
    log.error(how === 'all' ? 'workers did not stop in time; exiting anyway' : 'requests did not finish in time; exiting anyway');
    process.exit(1);
  }, settings.STOP_TIMEOUT_MS + 1500).unref();
  await (how === 'all' ? stopEverything() : leaveWorkers());
  log.info('stopped');
  process.exit(0);
}
// What each signal does to the workers: README, "Running it for real". A service manager's stop or restart
// (SIGTERM; pm2's SIGINT) leaves them to the next supervisor, and any left unadopted stop by themselves after
// ORPHAN_TIMEOUT_MS; Ctrl-C in a terminal and `npm run stop` (SIGUSR2) stop everything at once.
const interactive = process.stdin.isTTY === true && process.env.pm_id === undefined;
process.on('SIGTERM', () => void stop('SIGTERM', 'leave'));
process.on('SIGINT', () => void stop('SIGINT', interactive ? 'all' : 'leave'));
process.on('SIGUSR2', () => void stop('SIGUSR2', 'all'));

// Workers an earlier supervisor left are taken back, and every worker is known, before the first request
// arrives: none is answered "no such profile", and none is started twice.
const adoptStarted = performance.now();
const adoptables = await findRecordedWorkers({ records, links, log, waitMs: 1500, stopTimeoutMs: settings.STOP_TIMEOUT_MS, requestSecret: internalSecret, listen: () => links.listen(controlSocket) });
supervisor.adopt(adoptables);
discovery = new Discovery(store.paths, () => void supervisor.reconcile());
await discovery.ready();
await supervisor.reconcile();
if (adoptables.length > 0) log.info({ workers: adoptables.map((a) => a.name), ms: Math.round(performance.now() - adoptStarted) }, 'took back the workers of the earlier supervisor');
const activated = activatedSocket();
try {
  if (activated) await new Promise<void>((resolve, reject) => server.once('error', reject).listen(activated, () => resolve()));
  else await listen(server, settings.PORT, settings.HOST);
} catch (error) {
  const code = (error as NodeJS.ErrnoException).code;
  log.fatal({ code, port: settings.PORT, host: settings.HOST }, code === 'EADDRINUSE' ? `port ${settings.PORT} is already in use; stop the other program or set PORT` : 'cannot listen');
  await stopEverything();
  process.exit(1);
}
await recordSupervisor(runtime, activated ? null : settings.PORT);
trimMemoryWhenQuiet([server]);
log.info(
  { url: `http://${settings.HOST}:${settings.PORT}/`, public_url: settings.PUBLIC_URL, auth: settings.AUTH, config_dir: configDir, profiles: supervisor.list().length, first_run: supervisor.firstRun, socket_activation: activated !== null, compile_cache: getCompileCacheDir() ?? null },
  `supervisor listening on http://${settings.HOST}:${settings.PORT}`,
);
process.send?.('ready'); // pm2 wait_ready

