import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { http } from '../shared/runtime/cjs-imports.ts';
import type Koa from 'koa';
import { errorBody, sendError } from '../shared/http/api-error.ts';
import { HOST_NOT_ALLOWED_MESSAGE } from '../shared/http/host-check.ts';
import { answerClientErrors, writeRawAnswer } from '../shared/http/http-server.ts';
import type { Supervisor } from './control/supervisor.ts';
import type { ProxyGate } from './access/proxy-gate.ts';
import type { ConnectionLimits } from './proxy/connection-limits.ts';
import { routeOf } from './proxy/routing.ts';
import { VARY_ACCEPT, SUPERVISOR_FRAME, notFoundMessage, type LandingPages } from './web/landing-pages.ts';
import { isNavigation, sendPage } from '../shared/http/html-page.ts';
import { profilePrefix } from '../shared/profiles/profile-url.ts';

export interface SupervisorServerOptions {
  supervisor: Supervisor;
  app: Koa;
  /** Whether a `Host` value is one this server answers (every mode). */
  hostAllowed(host: string | undefined): boolean;
  /** The gate in front of the proxied paths, in every mode. */
  gate: ProxyGate;
  /** What a person's browser gets instead of a JSON error. */
  pages: LandingPages;
  /** Slow and greedy clients (README, "Configuration"). */
  limits: ConnectionLimits;
}

/** The supervisor's listener: a `Host` it does not answer for is refused first (DNS rebinding); proxied
 *  paths go straight through the gate to the proxy (no Koa middleware on the hot path), WebSocket upgrades
 *  of those paths to the WebSocket proxy; everything else is the Koa app (dashboard, sign-in, supervisor
 *  API, health, metrics), whose routes each declare who may use them. */
export function createSupervisorServer(options: SupervisorServerOptions): Server {
  const { supervisor, gate, hostAllowed, pages, limits } = options;
  const appHandler = options.app.callback();
  // Slow or stalled clients are cut instead of holding sockets: headers must arrive within 10 s, checked
  // every second; a body that stops arriving is cut by `limits`.
  const server = http.createServer({ headersTimeout: 10_000, requestTimeout: 0, connectionsCheckingInterval: 1_000, keepAliveTimeout: 5_000 }, (req, res) => {
    if (!hostAllowed(req.headers.host)) {
      sendError(res, { status: 421, code: 'host_not_allowed', message: HOST_NOT_ALLOWED_MESSAGE });
      return;
    }
    if (hostCount(req) !== 1) {
      // Node keeps the first of several Host lines; whoever comes next might read another (RFC 9112 §3.2).
      sendError(res, { status: 400, code: 'bad_request', message: 'a request has exactly one Host header' }, { connection: 'close' });
      return;
    }
    limits.watchBody(req, res);
    const route = routeOf(req.url ?? '/');
    switch (route.kind) {
      case 'app':
        void appHandler(req, res);
        return;
      case 'unknown-profile':
        if (isNavigation(req.method, req.headers)) sendPage(res, pages.invalidHandle(route.segment), SUPERVISOR_FRAME, VARY_ACCEPT);
        else sendError(res, { status: 404, code: 'profile_not_found', message: 'no such profile: handles are lowercase letters, digits, dots and hyphens' }, VARY_ACCEPT);
        return;
      case 'profile-root':
        // A redirect to the profile's page, decided like the page itself: nothing tells anyone whether
        // another person's profile exists.
        gate.http(req, res, { kind: 'profile', handle: route.handle, path: '/', prefix: profilePrefix(route.handle) }, () => {
          if (!supervisor.worker(route.handle)) return pages.answerNotFound(req, res, route.handle, notFoundMessage(route.handle));
          res.writeHead(308, { location: `${profilePrefix(route.handle)}/${route.query}`, 'content-length': 0 });
          res.end();
        });
        return;
      case 'profile':
      case 'api':
        gate.http(req, res, route);
        return;
    }
  });
  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    socket.on('error', () => socket.destroy());
    if (!hostAllowed(req.headers.host)) return writeRawAnswer(socket, 421, errorBody('host_not_allowed', HOST_NOT_ALLOWED_MESSAGE));
    if (hostCount(req) !== 1) return writeRawAnswer(socket, 400, errorBody('bad_request', 'a request has exactly one Host header'));
    const route = routeOf(req.url ?? '/');
    if (route.kind !== 'profile' && route.kind !== 'api') return writeRawAnswer(socket, 404, errorBody('not_found', 'WebSocket upgrades go to /p/<handle>/… or /api/… only'));
    gate.upgrade(req, socket, head, route);
  });
  limits.watchConnections(server);
  answerClientErrors(server);
  return server;
}

/** How many `Host` lines the request carried. */
function hostCount(req: IncomingMessage): number {
  let count = 0;
  const raw = req.rawHeaders;
  for (let i = 0; i < raw.length; i += 2) if (raw[i]!.length === 4 && raw[i]!.toLowerCase() === 'host') count++;
  return count;
}
