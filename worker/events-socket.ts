import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { WebSocketServer } from 'ws';
import { crossSiteReason } from '../shared/origin-guard.ts';
import { http } from '../shared/cjs-imports.ts';
import { workerAccessCheck } from './access.ts';
import type { WorkerDeps } from './deps.ts';
import { statusEvent } from './routes/events.ts';

/** WebSocket upgrades of `/api/events`: the same events as the Server-Sent Events stream, one JSON text
 *  message each. Any other upgrade, or one from another site, is refused. The `ws` library is loaded with
 *  the first WebSocket, not at start-up. */
export function eventSocket(deps: WorkerDeps): (req: IncomingMessage, socket: Duplex, head: Buffer) => void {
  let server: Promise<WebSocketServer> | null = null;
  const access = workerAccessCheck(deps.settings);
  return (req, socket, head) => {
    socket.on('error', () => socket.destroy());
    const path = (req.url ?? '').split('?')[0];
    const allowed = access(req.headers);
    const refused = !allowed.ok ? `${allowed.status} ${http.STATUS_CODES[allowed.status]}` : path !== '/api/events' ? '404 Not Found' : crossSiteReason(req.headers) ? '403 Forbidden' : null;
    if (refused) {
      socket.end(`HTTP/1.1 ${refused}\r\ncontent-length: 0\r\nconnection: close\r\n\r\n`);
      return;
    }
    server ??= import('ws').then(({ WebSocketServer }) => new WebSocketServer({ noServer: true }));
    void server.then((wss) =>
      wss.handleUpgrade(req, socket, head, (ws) => {
        const send = (event: unknown) => ws.send(JSON.stringify(event));
        const unsubscribe = deps.events.subscribe({ event: send, end: () => ws.close(1001, 'the worker is stopping') });
        ws.once('close', unsubscribe);
        ws.on('error', () => ws.terminate());
        send(statusEvent(deps));
      }),
    );
  };
}
