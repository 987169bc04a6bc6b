import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { errorBody, sendError, type ErrorCode } from './api-error.ts';
import { genericErrorPage, isNavigation, sendPage, type PageFrame } from './html-page.ts';
import { writeRawAnswer } from './http-server.ts';

/** A request someone may not make, as it is answered. */
export interface Refusal {
  status: 401 | 403 | 404 | 421;
  code: ErrorCode;
  message: string;
}

export interface RefusalOptions {
  /** How a page for a person looks (which app's frame). */
  frame: PageFrame;
  /** Where a browser that must sign in first is sent (the supervisor's sign-in page); none on a worker. */
  signInPath?: string;
}

/** The one writer of refusals, for both processes, the proxied paths and the Koa routes alike: a browser
 *  that must sign in is sent to the sign-in page and back; a person's browser gets a page; a program the
 *  JSON error, with `WWW-Authenticate: Bearer` on a 401. */
export function answerRefusal(req: IncomingMessage, res: ServerResponse, refusal: Refusal, options: RefusalOptions): void {
  const navigation = isNavigation(req.method, req.headers);
  if (refusal.status === 401 && navigation && options.signInPath) {
    if (res.headersSent) return void res.destroy();
    res.writeHead(303, { location: `${options.signInPath}?next=${encodeURIComponent(req.url ?? '/')}`, 'content-length': 0, 'cache-control': 'no-store', vary: 'Accept' });
    res.end();
    return;
  }
  const headers: Record<string, string> = { vary: 'Accept', ...(refusal.status === 401 ? { 'www-authenticate': 'Bearer' } : {}) };
  if (navigation) return sendPage(res, genericErrorPage(refusal.status, refusal.code, refusal.message), options.frame, headers);
  sendError(res, refusal, headers);
}

/** The same refusal on the raw socket of a WebSocket upgrade. */
export function refuseUpgrade(socket: Duplex, refusal: Refusal): void {
  writeRawAnswer(socket, refusal.status, errorBody(refusal.code, refusal.message), refusal.status === 401 ? { 'www-authenticate': 'Bearer' } : {});
}
