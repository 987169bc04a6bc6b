import fs from 'node:fs/promises';
import type { Server } from 'node:http';
import { http } from '../shared/runtime/cjs-imports.ts';
import { resolveConfigDir } from '../shared/profiles/paths.ts';
import { INHERITED_SETTINGS_VAR, loadSettingsOrExit } from '../shared/runtime/settings.ts';
import { createLogger } from '../shared/runtime/logger.ts';
import { FileViews } from '../shared/files/file-views.ts';
import { ProfileStore } from '../shared/profiles/profile-store.ts';
import { answerClientErrors, closeGracefully, listen } from '../shared/http/http-server.ts';
import { SPARE_VAR, START_OVER_IPC_VAR, isSupervisorMessage, type SupervisorMessage, type WorkerMessage } from '../shared/runtime/ipc.ts';
import { createWorkerApp } from './web/app.ts';
import { WorkerAccess } from './web/access.ts';
import { scrubSecretsFromEnvironment } from '../shared/access/internal-secret.ts';
import { WorkerEvents } from './profile/events.ts';
import { eventSocket } from './web/events-socket.ts';
import { trimMemoryWhenQuiet } from '../shared/runtime/memory-trim.ts';
import { Restore } from './work/restore.ts';
import { RestoreState } from './work/restore-state.ts';
import { SessionManager } from './session/session-manager.ts';
import { LazyProfile } from './profile/lazy-profile.ts';
import { HANDLE_RULES, parseHandle } from '../shared/profiles/handle.ts';
import { profilePrefix } from '../shared/profiles/profile-url.ts';
import type { CurrentProfile } from '../shared/profiles/current-profile.ts';
import { runningBuild } from '../shared/runtime/build-check.ts';
import { settingsFingerprint } from '../shared/runtime/settings.ts';
import { SupervisorLink } from './control/supervisor-link.ts';
import { LogTap } from './control/log-tap.ts';
import { operatorLog } from './control/operator-log.ts';
import { captureOutput } from './control/output-capture.ts';

// One profile's TAT-MIS instance. Runs under the supervisor (IPC channel present) or alone:
//   BLAZE_PROFILE=nick.tat PORT=5001 npm run worker
const HOST = '127.0.0.1';
const supervised = typeof process.send === 'function';
// What the worker tells its supervisor: over the control channel once it is up (docs/architecture.md,
// "Workers outlive the supervisor"), over IPC before that (a failure at the very start).
let link: SupervisorLink | null = null;
const notify = (message: WorkerMessage) => {
  link?.notify(message);
  if (!link?.connected && supervised && process.connected) process.send!(message);
};

// What was loaded, read with it (a spare may wait long for its start: a rebuild meanwhile changes nothing).
const running = await runningBuild();
if (running.stale !== null) {
  process.stderr.write(`worker cannot start: ${running.stale}\n`);
  notify({ type: 'fatal', code: 'stale_build', message: running.stale });
  process.exit(78);
}
const build = running.fingerprint;

const configDir = resolveConfigDir();
// Under a supervisor, the settings and its secret come in the first IPC message, never in the environment; so
// does what this worker is for (a spare was spawned before that was known).
const start = supervised && process.env[START_OVER_IPC_VAR] === '1' ? await startMessage() : null;
const assignedAt = performance.now(); // when it learnt what it is for (a spare: long after its spawn)
// Its own environment then says what it is, as a worker spawned for its profile (and what it starts) would see.
if (start?.worker) Object.assign(process.env, start.worker.env);
delete process.env[SPARE_VAR];
const { settings, warnings } = await loadSettingsOrExit(
  configDir,
  'worker',
  (message) => notify({ type: 'fatal', code: 'startup_failed', message }),
  start ? { ...process.env, [INHERITED_SETTINGS_VAR]: start.settings } : process.env,
);
// Whatever secrets the environment held are read now and taken out of it: nothing this process starts
// (Chrome and what Chrome starts) inherits them.
scrubSecretsFromEnvironment();
const internalSecret = start?.secret;
// Under a supervisor the worker writes the operator's log itself (nothing in between that may be gone), keeps
// its recent lines for a supervisor that connects later, and sends each line to the one that is there.
const tap = start ? new LogTap(operatorLog()) : null;
const giveOutputTo = start ? captureOutput() : null;
const bootLog = createLogger({ level: settings.LOG_LEVEL, ...(tap ? { destination: tap } : {}) });
for (const warning of warnings) bootLog.warn(warning);
// A crash is said in the log (the operator's, and the logs view's through the tap), not only on stderr.
process.on('uncaughtException', (error) => {
  bootLog.fatal({ err: error }, 'uncaught exception; the worker exits');
  bootLog.flush();
  process.exit(1);
});

const store = new ProfileStore(configDir, bootLog, new FileViews(bootLog));
const selection = await selectProfile();
const log = bootLog.child({ handle: selection.handle });
giveOutputTo?.(log);
const session = await SessionManager.open(selection.handle, settings, log);
const events = new WorkerEvents();
const apiBase = supervised && selection.handle ? `${profilePrefix(selection.handle)}/api` : '/api';
// Google sends the person back here: through the supervisor's public URL when supervised, else directly.
const publicBase = supervised && selection.handle ? `${settings.PUBLIC_URL}${profilePrefix(selection.handle)}` : `http://localhost:${settings.PORT}`;
const profile = selection.handle
  ? new LazyProfile(async () => {
      const { createProfileServices } = await import('./profile/profile-services.ts');
      return createProfileServices({ handle: selection.handle!, store, settings, session, log, notify, events, apiBase, redirectUri: `${publicBase}/api/auth/google/callback` });
    })
  : null;
const deps = { handle: selection.handle, store, settings, log, apiBase, notify, supervised, session, profile, events, restore: new RestoreState() };
const access = new WorkerAccess({ settings, secret: internalSecret, handle: selection.handle, log });
const app = createWorkerApp(deps, access);
const upgrade = eventSocket(deps, access);
const createServer = () => {
  const server = http.createServer(app.callback());
  server.on('upgrade', upgrade);
  server.requestTimeout = 0; // long automations (CSV export) may take minutes; the supervisor bounds waits
  server.keepAliveTimeout = 65_000; // longer than the supervisor's upstream agent keeps idle sockets
  answerClientErrors(server);
  return server;
};
// The TCP port is the worker's address for people (the stable direct URL); under the supervisor a Unix
// socket carries the proxied traffic too, which costs both processes less per request than loopback TCP.
const server = createServer();
const socketPath = supervised ? process.env.TAT_WORKER_SOCKET : undefined;
const socketServer = socketPath ? createServer() : null;

// Installed before listening: a signal that arrives right after `ready` must stop gracefully, not kill.
let stopping = false;
async function stop(reason: string, graceMs = settings.STOP_TIMEOUT_MS): Promise<void> {
  if (stopping) return;
  stopping = true;
  log.info({ reason }, 'stopping: finishing in-flight requests');
  events.end();
  const [inTime] = await Promise.all([closeGracefully(server, graceMs), socketServer ? closeGracefully(socketServer, graceMs) : true]);
  if (!inTime) log.warn({ timeout_ms: settings.STOP_TIMEOUT_MS }, 'in-flight requests cut at the stop timeout');
  await profile?.loaded?.browser.close().catch((error) => log.warn({ err: error }, 'Chrome did not close cleanly'));
  await session.close().catch(() => {});
  log.info('stopped');
  link?.close();
  log.flush();
  process.exit(0);
}

process.on('SIGTERM', () => void stop('SIGTERM'));
process.on('SIGINT', () => void stop('SIGINT'));
if (supervised) {
  process.on('message', (message) => {
    if (isSupervisorMessage(message) && message.type === 'shutdown') void stop('shutdown requested by the supervisor');
  });
  // The IPC channel closes with the supervisor that spawned this worker: the control channel is there for
  // the next one, so a disconnect is no reason to stop (an unreferenced channel keeps nothing alive).
  process.on('disconnect', () => {});
  process.channel?.unref();
}
if (start) {
  const startedAt = Date.now();
  link = new SupervisorLink({
    socketPath: start.control.socket,
    name: start.control.name,
    secret: start.control.secret,
    build,
    settings: settingsFingerprint(start.settings),
    orphanTimeoutMs: settings.ORPHAN_TIMEOUT_MS,
    startedAt,
    lines: () => tap?.recent ?? [],
    onLinked: (again) => again && log.info('a supervisor took this worker back'),
    onShutdown: () => void stop('shutdown requested by the supervisor'),
    onSecret: (secret) => access.useSecret(secret),
    onOrphaned: () => void stop(`no supervisor took this worker back within ${settings.ORPHAN_TIMEOUT_MS} ms (ORPHAN_TIMEOUT_MS)`),
  });
}
// Each log line to the supervisor that is there: over the control channel, or over IPC to the one that
// spawned this worker until the channel is up (a worker that fails at its start says why before it exits).
tap?.forwardTo((line) => {
  if (link?.connected) link.send({ type: 'log', line });
  else if (process.connected) process.send!({ type: 'log', line });
});

let port: number;
try {
  port = await listen(server, settings.PORT, HOST);
} catch (error) {
  const code = (error as NodeJS.ErrnoException).code;
  const message =
    code === 'EADDRINUSE'
      ? `port ${settings.PORT} on ${HOST} is already in use by another program`
      : `cannot listen on ${HOST}:${settings.PORT} (${code ?? (error as Error).message})`;
  log.fatal({ port: settings.PORT, code }, message);
  notify({ type: 'fatal', code: code === 'EADDRINUSE' ? 'port_conflict' : 'startup_failed', message, port: settings.PORT });
  log.flush();
  process.exit(code === 'EADDRINUSE' ? 75 : 1);
}
const socket = socketServer && socketPath ? await listenOnSocket(socketServer, socketPath) : null;
trimMemoryWhenQuiet(socketServer ? [server, socketServer] : [server]);
log.info(
  { port, socket, source: selection.source, first_run: selection.handle === null, config_dir: configDir, start_ms: Math.round(performance.now() - assignedAt) },
  selection.handle ? `worker for "${selection.handle}" listening on http://${HOST}:${port}` : `setup worker (first-run mode) listening on http://${HOST}:${port}`,
);
notify({ type: 'ready', port, socket });
// After any restart, the profile's work comes back by itself; nothing waits for it.
void new Restore(deps).run().catch((error) => log.error({ err: error }, 'the restore after the start failed'));

/** The profile this process serves. Under the supervisor exactly the one it was started for (a setup worker
 *  serves none): a BLAZE_PROFILE that is not a valid profile stops the start. Alone, the guide's
 *  auto-selection. */
async function selectProfile(): Promise<CurrentProfile> {
  if (!supervised) return store.selectCurrent(process.env.BLAZE_PROFILE);
  if (process.env.TAT_SETUP_WORKER === '1') return { handle: null, source: 'none' };
  const raw = process.env.BLAZE_PROFILE ?? '';
  const handle = parseHandle(raw);
  if (handle && (await store.isValid(handle))) return { handle, source: 'BLAZE_PROFILE' };
  const message = handle
    ? `BLAZE_PROFILE "${handle}" is not a valid profile here: ${store.relative(store.profilePaths(handle).token)} or ${store.relative(store.profilePaths(handle).credentials)} is missing`
    : `BLAZE_PROFILE ${JSON.stringify(raw)} is not a valid handle (${HANDLE_RULES})`;
  bootLog.fatal({ BLAZE_PROFILE: raw }, message);
  notify({ type: 'fatal', code: 'startup_failed', message });
  bootLog.flush();
  process.exit(78);
}

/** Listens on the supervisor's socket path (a stale file from a killed worker is removed first); on any
 *  failure the supervisor simply keeps using the TCP port. */
async function listenOnSocket(target: Server, file: string): Promise<string | null> {
  try {
    await fs.rm(file, { force: true });
    await listen(target, file);
    await fs.chmod(file, 0o600);
    return file;
  } catch (error) {
    log.warn({ socket: file, code: (error as NodeJS.ErrnoException).code }, 'cannot listen on the Unix socket; the supervisor uses the TCP port');
    return null;
  }
}

/** The supervisor's `start` message: the first on the IPC channel. A supervisor that sends none within
 *  START_WAIT_MS is not one this worker can serve; a spare waits for it (its modules loaded) as long as its
 *  supervisor is there, and leaves with it. */
function startMessage(): Promise<Extract<SupervisorMessage, { type: 'start' }>> {
  const START_WAIT_MS = 10_000;
  const spare = process.env[SPARE_VAR] === '1';
  return new Promise((resolve) => {
    const timer = spare
      ? undefined
      : setTimeout(() => {
          process.stderr.write('worker cannot start: no start message from the supervisor\n');
          process.exit(78);
        }, START_WAIT_MS);
    const gone = () => process.exit(0);
    // `ps` tells a waiting spare from a worker (nginx's "worker process" titles): its command line says so.
    const commandLine = [process.execPath, ...process.execArgv, ...process.argv.slice(1)].join(' ');
    if (spare) process.title = 'tat-mis: spare worker, waiting for a profile';
    const onMessage = (message: unknown) => {
      if (!isSupervisorMessage(message) || message.type !== 'start') return;
      if (spare) process.title = commandLine;
      clearTimeout(timer);
      process.off('message', onMessage);
      process.off('disconnect', gone);
      resolve(message);
    };
    process.on('message', onMessage);
    process.once('disconnect', gone);
  });
}
