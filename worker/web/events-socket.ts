import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { WebSocketServer } from 'ws';
import { errorBody } from '../../shared/http/api-error.ts';
import { writeRawAnswer } from '../../shared/http/http-server.ts';
import { crossSiteReason } from '../../shared/http/origin-guard.ts';
import { refuseUpgrade } from '../../shared/http/refusal.ts';
import type { WorkerAccess } from './access.ts';
import type { WorkerDeps } from '../profile/deps.ts';
import { statusEvent } from './routes/events.ts';

/** The one WebSocket route of a worker, with the same declaration as the events stream it mirrors. */
export const EVENTS_SOCKET = { path: '/api/events', access: { action: 'use', handle: 'own' } } as const;

/** WebSocket upgrades of `/api/events`: the same events as the Server-Sent Events stream, one JSON text
 *  message each. Any other upgrade, or one from another site, is refused. The `ws` library is loaded with
 *  the first WebSocket, not at start-up. */
export function eventSocket(deps: WorkerDeps, access: WorkerAccess): (req: IncomingMessage, socket: Duplex, head: Buffer) => void {
  let server: Promise<WebSocketServer> | null = null;
  return (req, socket, head) => {
    socket.on('error', () => socket.destroy());
    const who = access.who(req);
    if ('status' in who) return refuseUpgrade(socket, who);
    if ((req.url ?? '').split('?')[0] !== EVENTS_SOCKET.path) return writeRawAnswer(socket, 404, errorBody('not_found', `the only WebSocket here is ${EVENTS_SOCKET.path}`));
    const decision = access.decide(who.asker, EVENTS_SOCKET.access.action, EVENTS_SOCKET.access.handle);
    if (!decision.allow) return refuseUpgrade(socket, decision);
    if (crossSiteReason(req.headers)) return refuseUpgrade(socket, { status: 403, code: 'forbidden', message: 'cross-site WebSocket connections are refused' });
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
