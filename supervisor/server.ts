import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { http } from '../shared/cjs-imports.ts';
import type Koa from 'koa';
import { errorBody, sendError } from '../shared/api-error.ts';
import { HOST_NOT_ALLOWED_MESSAGE } from '../shared/host-check.ts';
import { answerClientErrors } from '../shared/http-server.ts';
import type { Supervisor } from './supervisor.ts';
import type { WorkerProxy } from './proxy.ts';
import type { ProxyGate } from './proxy-gate.ts';
import type { WebSocketProxy } from './websocket-proxy.ts';
import { routeOf } from './routing.ts';
import { VARY_ACCEPT, SUPERVISOR_FRAME, notFoundMessage, type LandingPages } from './landing-pages.ts';
import { isNavigation, sendPage } from '../shared/html-page.ts';
import { profilePrefix } from '../shared/profile-url.ts';

export interface SupervisorServerOptions {
  supervisor: Supervisor;
  proxy: WorkerProxy;
  websockets: WebSocketProxy;
  app: Koa;
  /** Whether a `Host` value is one this server answers (every mode). */
  hostAllowed(host: string | undefined): boolean;
  /** Sign-in in front of the proxied paths; `null` with AUTH=none. */
  gate: ProxyGate | null;
  /** What a person's browser gets instead of a JSON error. */
  pages: LandingPages;
}

/** The supervisor's listener: a `Host` it does not answer for is refused first (DNS rebinding); proxied
 *  paths go straight to the proxy (no Koa middleware on the hot path) — through the sign-in gate when
 *  AUTH is not `none` — and WebSocket upgrades of those paths to the WebSocket proxy; everything else is the
 *  Koa app (dashboard, sign-in, supervisor API, health, metrics). */
export function createSupervisorServer(options: SupervisorServerOptions): Server {
  const { supervisor, proxy, websockets, gate, hostAllowed, pages } = options;
  const appHandler = options.app.callback();
  // Slow or stalled clients are cut instead of holding sockets: headers must arrive within 10 s, checked
  // every second. Bodies (CSV uploads) and long automations are bounded elsewhere.
  const server = http.createServer({ headersTimeout: 10_000, requestTimeout: 0, connectionsCheckingInterval: 1_000, keepAliveTimeout: 5_000 }, (req, res) => {
    if (!hostAllowed(req.headers.host)) {
      sendError(res, 421, 'host_not_allowed', HOST_NOT_ALLOWED_MESSAGE);
      return;
    }
    const route = routeOf(req.url ?? '/');
    switch (route.kind) {
      case 'app':
        void appHandler(req, res);
        return;
      case 'unknown-profile':
        if (isNavigation(req.method, req.headers)) sendPage(res, pages.invalidHandle(route.segment), SUPERVISOR_FRAME, VARY_ACCEPT);
        else sendError(res, 404, 'profile_not_found', 'no such profile: handles are lowercase letters, digits, dots and hyphens', {}, VARY_ACCEPT);
        return;
      case 'profile-root':
        // An unknown profile is a 404 here too, not a redirect to one (with sign-in, the gate behind the
        // redirect decides, so that the answer tells no one whether another person's profile exists).
        if (!gate && !supervisor.worker(route.handle)) {
          pages.answerNotFound(req, res, route.handle, notFoundMessage(route.handle));
          return;
        }
        res.writeHead(308, { location: `${profilePrefix(route.handle)}/${route.query}`, 'content-length': 0 });
        res.end();
        return;
      case 'profile':
      case 'api':
        if (gate) {
          void gate.http(req, res, route).catch((error) => {
            if (!res.headersSent) sendError(res, 500, 'internal_error', 'the request could not be checked');
            else res.destroy(error as Error);
          });
          return;
        }
        if (route.kind === 'profile') {
          const worker = supervisor.worker(route.handle);
          if (!worker) return pages.answerNotFound(req, res, route.handle, notFoundMessage(route.handle));
          proxy.forward(req, res, worker.admission, route.path, route.prefix);
          return;
        }
        {
          const worker = supervisor.apiWorker();
          if (!worker) return sendError(res, 503, 'worker_unavailable', 'no worker serves /api yet; try again shortly', {}, { 'retry-after': '1' });
          proxy.forward(req, res, worker.admission, route.path, '');
        }
        return;
    }
  });
  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    socket.on('error', () => socket.destroy());
    if (!hostAllowed(req.headers.host)) return refuseUpgrade(socket, 421, errorBody('host_not_allowed', HOST_NOT_ALLOWED_MESSAGE));
    const route = routeOf(req.url ?? '/');
    if (route.kind !== 'profile' && route.kind !== 'api') return refuseUpgrade(socket, 404);
    if (gate) {
      void gate.upgrade(req, socket, head, route).catch(() => socket.destroy());
      return;
    }
    const worker = route.kind === 'profile' ? supervisor.worker(route.handle) : supervisor.apiWorker();
    if (!worker) return refuseUpgrade(socket, 404);
    websockets.upgrade(req, socket, head, worker.admission, route.path, route.kind === 'profile' ? route.prefix : '');
  });
  answerClientErrors(server);
  return server;
}

function refuseUpgrade(socket: Duplex, status: number, body?: unknown): void {
  const text = body === undefined ? '' : JSON.stringify(body);
  socket.end(`HTTP/1.1 ${status} ${http.STATUS_CODES[status]}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(text)}\r\nconnection: close\r\n\r\n${text}`);
}

