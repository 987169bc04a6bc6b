import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { http } from '../shared/cjs-imports.ts';
import type Koa from 'koa';
import { sendError } from '../shared/api-error.ts';
import { answerClientErrors } from '../shared/http-server.ts';
import type { Supervisor } from './supervisor.ts';
import type { WorkerProxy } from './proxy.ts';
import type { WebSocketProxy } from './websocket-proxy.ts';
import { routeOf } from './routing.ts';
import { profilePrefix } from '../shared/profile-url.ts';

/** The supervisor's listener: proxied paths go straight to the proxy (no Koa middleware on the hot path),
 *  WebSocket upgrades of those paths to the WebSocket proxy; everything else is the Koa app (dashboard,
 *  supervisor API, health, metrics). */
export function createSupervisorServer(supervisor: Supervisor, proxy: WorkerProxy, websockets: WebSocketProxy, app: Koa): Server {
  const appHandler = app.callback();
  // Slow or stalled clients are cut instead of holding sockets: headers must arrive within 10 s, checked
  // every second. Bodies (CSV uploads) and long automations are bounded elsewhere.
  const server = http.createServer({ headersTimeout: 10_000, requestTimeout: 0, connectionsCheckingInterval: 1_000, keepAliveTimeout: 5_000 }, (req, res) => {
    const route = routeOf(req.url ?? '/');
    switch (route.kind) {
      case 'app':
        void appHandler(req, res);
        return;
      case 'unknown-profile':
        sendError(res, 404, 'profile_not_found', 'no such profile: handles are lowercase letters, digits, dots and hyphens');
        return;
      case 'profile-root':
        // An unknown profile is a 404 here too, not a redirect to one.
        if (!supervisor.worker(route.handle)) {
          profileNotFound(res, route.handle);
          return;
        }
        res.writeHead(308, { location: `${profilePrefix(route.handle)}/${route.query}`, 'content-length': 0 });
        res.end();
        return;
      case 'profile': {
        const worker = supervisor.worker(route.handle);
        if (!worker) {
          profileNotFound(res, route.handle);
          return;
        }
        proxy.forward(req, res, worker.admission, route.path, route.prefix);
        return;
      }
      case 'api': {
        const worker = supervisor.apiWorker();
        if (!worker) {
          sendError(res, 503, 'worker_unavailable', 'no worker serves /api yet; try again shortly', {}, { 'retry-after': '1' });
          return;
        }
        proxy.forward(req, res, worker.admission, route.path, '');
        return;
      }
    }
  });
  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    const route = routeOf(req.url ?? '/');
    const worker = route.kind === 'profile' ? supervisor.worker(route.handle) : route.kind === 'api' ? supervisor.apiWorker() : undefined;
    if (!worker || (route.kind !== 'profile' && route.kind !== 'api')) {
      socket.end('HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\nconnection: close\r\n\r\n');
      return;
    }
    websockets.upgrade(req, socket, head, worker.admission, route.path, route.kind === 'profile' ? route.prefix : '');
  });
  answerClientErrors(server);
  return server;
}

function profileNotFound(res: ServerResponse, handle: string): void {
  sendError(res, 404, 'profile_not_found', `no profile "${handle}" on this server (not registered, credentials file missing, or outside PROFILES)`, { handle });
}
