// Both processes' apps driven in this process, for the unit tests of their routes and gates: a listener on
// a loopback port the system chooses (port 0), asked with the suites' client (`http.ts`), plus the two
// builders that `apps.ts` leaves out:
//  - `inProcessWorker`: a worker app whose profile services are the real ones (so that a route needing
//    Chrome or Google answers what it answers where they are missing, not "not loaded in this test");
//  - `inProcessSupervisor`: the supervisor's whole listener (`createSupervisorServer`: the Host check, the
//    proxied paths through `ProxyGate`, the Koa app) with a sign-in store, over fake worker processes and a
//    proxy that records what it would have forwarded instead of forwarding it.
import http, { type IncomingHttpHeaders, type RequestListener, type Server } from 'node:http';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import type Koa from 'koa';
import { Registry } from 'prom-client';
import { createLogger } from '../../shared/runtime/logger.ts';
import { loadSettings, type Settings } from '../../shared/runtime/settings.ts';
import { FileViews } from '../../shared/files/file-views.ts';
import { ProfileStore } from '../../shared/profiles/profile-store.ts';
import type { Handle } from '../../shared/profiles/handle.ts';
import type { WorkerMessage } from '../../shared/runtime/ipc.ts';
import { UserStore } from '../../shared/access/users.ts';
import { hostCheck } from '../../shared/http/host-check.ts';
import { Gate } from '../../supervisor/access/gate.ts';
import { Identities } from '../../supervisor/access/identity.ts';
import { ProxyGate } from '../../supervisor/access/proxy-gate.ts';
import { SignInLimits } from '../../supervisor/access/sign-in-limits.ts';
import { FileSignIns } from '../../supervisor/access/sign-ins.ts';
import { PortRegistry } from '../../supervisor/control/port-registry.ts';
import { Supervisor } from '../../supervisor/control/supervisor.ts';
import { ConnectionLimits } from '../../supervisor/proxy/connection-limits.ts';
import type { ForwardOptions, WorkerProxy } from '../../supervisor/proxy/proxy.ts';
import type { WebSocketProxy } from '../../supervisor/proxy/websocket-proxy.ts';
import { createSupervisorServer } from '../../supervisor/server.ts';
import { createSupervisorApp } from '../../supervisor/web/app.ts';
import { LandingPages } from '../../supervisor/web/landing-pages.ts';
import { WorkerAccess } from '../../worker/web/access.ts';
import { createWorkerApp } from '../../worker/web/app.ts';
import type { WorkerDeps } from '../../worker/profile/deps.ts';
import { LazyProfile } from '../../worker/profile/lazy-profile.ts';
import { WorkerEvents } from '../../worker/profile/events.ts';
import { createProfileServices } from '../../worker/profile/profile-services.ts';
import { RestoreState } from '../../worker/work/restore-state.ts';
import { SessionManager } from '../../worker/session/session-manager.ts';
import { FakeSpawner } from './fake-spawner.ts';
import { request as send } from './http.ts';

const silent = createLogger({ level: 'silent' });

export interface Reply {
  status: number;
  headers: IncomingHttpHeaders;
  text: string;
  /** The parsed body when it is JSON, else undefined. */
  json: any;
}

export interface RequestOptions {
  headers?: Record<string, string>;
  /** Sent as it is. */
  body?: string | Buffer;
  /** Sent as JSON, with `Content-Type: application/json` unless `headers` say another. */
  json?: unknown;
}

export interface Served {
  port: number;
  request(method: string, path: string, options?: RequestOptions): Promise<Reply>;
  /** A streamed answer (Server-Sent Events): its head, the text so far, and a wait for some text. */
  stream(path: string, headers?: Record<string, string>): Promise<Streamed>;
  close(): Promise<void>;
}

export interface Streamed {
  status: number;
  headers: IncomingHttpHeaders;
  text(): string;
  /** Resolves once the text received holds `what`; rejects after `timeoutMs`. */
  waitFor(what: string | RegExp, timeoutMs?: number): Promise<string>;
  /** Resolves when the server ends the answer (or the connection goes). */
  ended: Promise<void>;
  close(): void;
}

/** Listens on 127.0.0.1, port 0, with `target` (a Koa app, a request listener or a server not yet
 *  listening). `close` ends every connection and the listener. */
export async function serve(target: Koa | Server | RequestListener): Promise<Served> {
  const server: Server =
    target instanceof http.Server ? target : http.createServer(typeof target === 'function' ? target : (target as Koa).callback());
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  const open = new Set<http.ClientRequest>();

  // The suites' one client (http.ts); `json` is its body when the answer is JSON.
  const request: Served['request'] = async (method, target, options = {}) => {
    const reply = await send(port, method, target, { headers: options.headers, body: options.json !== undefined ? options.json : options.body });
    return { status: reply.status, headers: reply.headers, text: reply.text, json: /json/.test(String(reply.headers['content-type'] ?? '')) && typeof reply.body === 'object' ? reply.body : undefined };
  };

  const stream: Served['stream'] = (target, headers = {}) =>
    new Promise((resolve, reject) => {
      const req = http.request({ host: '127.0.0.1', port, method: 'GET', path: target, headers, agent: false }, (res) => {
        let text = '';
        const waiters = new Set<() => void>();
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          text += chunk;
          for (const waiter of [...waiters]) waiter();
        });
        res.on('error', () => {});
        const ended = new Promise<void>((done) => res.once('close', () => done()));
        resolve({
          ended,
          status: res.statusCode ?? 0,
          headers: res.headers,
          text: () => text,
          waitFor: (what, timeoutMs = 3000) =>
            new Promise((done, fail) => {
              const matches = () => (typeof what === 'string' ? text.includes(what) : what.test(text));
              if (matches()) return done(text);
              const timer = setTimeout(() => {
                waiters.delete(check);
                fail(new Error(`no ${String(what)} in the stream within ${timeoutMs} ms; got: ${JSON.stringify(text)}`));
              }, timeoutMs);
              const check = () => {
                if (!matches()) return;
                clearTimeout(timer);
                waiters.delete(check);
                done(text);
              };
              waiters.add(check);
            }),
          close: () => {
            open.delete(req);
            req.destroy();
          },
        });
      });
      open.add(req);
      req.on('error', (error) => {
        open.delete(req);
        reject(error);
      });
      req.end();
    });

  return {
    port,
    request,
    stream,
    async close() {
      for (const req of open) req.destroy();
      open.clear();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** `served`, with every answer (headers and text) written down, for the check that none holds a secret. */
export function recordingAnswers(served: Served): { http: Served; answers: string[] } {
  const answers: string[] = [];
  const http: Served = {
    ...served,
    request: async (...args) => {
      const reply = await served.request(...args);
      answers.push(JSON.stringify(reply.headers), reply.text);
      return reply;
    },
  };
  return { http, answers };
}

export interface InProcessWorker {
  app: Koa;
  deps: WorkerDeps;
  settings: Settings;
  /** What the worker told the supervisor (`notify`), in order. */
  notified: WorkerMessage[];
}

/** A worker's Koa app for `handle` over `configDir`, as `worker/main.ts` builds it, with the real profile
 *  services (loaded on first use), a memory session store, and a `CHROME_PATH` that names no executable
 *  unless `env` says otherwise. `secret`: the supervisor's. Nothing listens, nothing is started. */
export async function inProcessWorker(configDir: string, handle: Handle | null, env: Record<string, string> = {}, secret?: string): Promise<InProcessWorker> {
  const { settings } = await loadSettings(configDir, { SESSION_BACKEND: 'memory', CHROME_PATH: path.join(configDir, 'no-chrome-here'), ...env });
  // As worker/main.ts builds it: what it reads from the files is kept until they change.
  const store = new ProfileStore(configDir, silent, new FileViews(silent));
  const session = await SessionManager.open(handle, settings, silent);
  const events = new WorkerEvents();
  const notified: WorkerMessage[] = [];
  const notify = (message: WorkerMessage) => void notified.push(message);
  const apiBase = '/api';
  const profile = handle
    ? new LazyProfile(async () =>
        createProfileServices({ handle, store, settings, session, log: silent, notify, events, apiBase, redirectUri: `http://localhost:${settings.PORT}/api/auth/google/callback` }),
      )
    : null;
  const deps: WorkerDeps = { handle, store, settings, log: silent, apiBase, notify, supervised: false, session, profile, events, restore: new RestoreState() };
  return { app: createWorkerApp(deps, new WorkerAccess({ settings, secret, handle, log: silent })), deps, settings, notified };
}

/** What the fake proxy was asked to forward. */
export interface Forwarded {
  method: string | undefined;
  path: string;
  prefix: string;
  handle: string | null;
  /** The headers the supervisor adds (who is asking), as name → value. */
  who: Record<string, string>;
  /** The body the supervisor read and decided on, when it did. */
  json: string | undefined;
}

export interface InProcessSupervisor {
  server: Server;
  settings: Settings;
  supervisor: Supervisor;
  users: UserStore;
  spawner: FakeSpawner;
  /** Every request the gate let through to a worker, in order (the fake proxy answers 200 `{forwarded}`). */
  forwarded: Forwarded[];
  /** The secret the gate proves itself with to the workers. */
  internalSecret: string;
  stop(): Promise<void>;
}

/** The supervisor's listener over `configDir`, as `supervisor/main.ts` builds it, with fake worker processes
 *  (every valid profile's worker is "ready" once this resolves) and a file sign-in store with AUTH=local.
 *  `users`: the store the test adds people with (its changes are seen at once); one over users.json else. */
export async function inProcessSupervisor(configDir: string, env: Record<string, string> = {}, users?: UserStore): Promise<InProcessSupervisor> {
  const { settings } = await loadSettings(configDir, { PORT: '7000', ...env });
  const store = new ProfileStore(configDir, silent);
  const ports = await PortRegistry.load(store.paths.ports, settings.WORKER_BASE_PORT, [settings.PORT], silent);
  const spawner = new FakeSpawner();
  const supervisor = new Supervisor({ settings, store, ports, spawn: spawner.spawn, log: silent, pinned: null, maySwitch: () => false });
  const people = users ?? new UserStore(store.paths.users);
  const signIns = settings.AUTH === 'local' ? await FileSignIns.open(store.paths.signIns, settings.AUTH_SESSION_TTL_MS, silent) : null;
  const gate = new Gate({ identities: new Identities({ settings, users: people, signIns }), log: silent });
  const app = createSupervisorApp(supervisor, { log: silent, settings, startedAt: 0, metrics: new Registry(), gate, signIns, limits: new SignInLimits({ windowMs: settings.AUTH_LOCKOUT_MS }) });
  const pages = new LandingPages({ store, settings, mayDo: (req, action, handle) => gate.mayDo(req, action, handle) });
  const forwarded: Forwarded[] = [];
  const proxy = {
    forward(options: ForwardOptions) {
      const who: Record<string, string> = {};
      const headers = options.headers ?? [];
      for (let i = 0; i + 1 < headers.length; i += 2) who[headers[i]!] = headers[i + 1]!;
      forwarded.push({ method: options.req.method, path: options.path, prefix: options.prefix, handle: options.worker.handle, who, json: options.json?.toString('utf8') });
      const body = JSON.stringify({ success: true, forwarded: options.path });
      options.req.resume();
      options.res.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(body) });
      options.res.end(body);
    },
  } as unknown as WorkerProxy;
  const websockets = { upgrade: (options: { socket: { destroy(): void } }) => options.socket.destroy() } as unknown as WebSocketProxy;
  const internalSecret = 'in-process-internal-secret';
  const proxyGate = new ProxyGate({ gate, supervisor, proxy, websockets, log: silent, internalSecret, pages });
  const limits = new ConnectionLimits({ bodyTimeoutMs: settings.BODY_TIMEOUT_MS, maxPerClient: settings.MAX_CONNECTIONS_PER_CLIENT, log: silent });
  const server = createSupervisorServer({ supervisor, app, gate: proxyGate, hostAllowed: hostCheck(settings), pages, limits });
  await supervisor.reconcile();
  const valid = await store.validHandles();
  await Promise.all(valid.map((handle) => supervisor.worker(handle)?.settled()));
  return {
    server,
    settings,
    supervisor,
    users: people,
    spawner,
    forwarded,
    internalSecret,
    async stop() {
      await supervisor.shutdown();
      await signIns?.close();
    },
  };
}
