import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { sendError } from '../shared/api-error.ts';
import { parseHandle, type Handle } from '../shared/handle.ts';
import type { Logger } from '../shared/logger.ts';
import { http } from '../shared/cjs-imports.ts';
import { INTERNAL_SECRET_HEADER } from '../shared/internal-secret.ts';
import { decide, nameOf, profilesOf, type Decision, type Wanted } from './access-policy.ts';
import type { Identities, Identity } from './identity.ts';
import { hasSmallBody, readBody, type WorkerProxy } from './proxy.ts';
import type { Route } from './routing.ts';
import type { Supervisor } from './supervisor.ts';
import type { WebSocketProxy } from './websocket-proxy.ts';
import type { WorkerLifecycle } from './worker-lifecycle.ts';
import { SUPERVISOR_FRAME, notFoundMessage, type LandingPages } from './landing-pages.ts';
import { genericErrorPage, isNavigation, sendPage } from '../shared/html-page.ts';

type ProxiedRoute = Extract<Route, { kind: 'profile' | 'api' }>;

const SAFE = new Set(['GET', 'HEAD', 'OPTIONS']);
/** The profile-management routes of every worker: they name a profile other than the worker's own. */
const MANAGEMENT = /^\/api\/profile\/(register|delete|switch)\/?(?:\?|$)/;
const CHECK_CREDENTIALS = /^\/api\/profile\/check-credentials\/([^/?]*)/;

/** Sign-in in front of the proxied paths (AUTH local or proxy): who is asking, whether they may, which
 *  worker the unprefixed `/api/…` means for them; the worker is told who it is (headers it can trust, set
 *  only here), and every state-changing request is audited once. */
export interface ProxyGateOptions {
  identities: Identities;
  supervisor: Supervisor;
  proxy: WorkerProxy;
  websockets: WebSocketProxy;
  log: Logger;
  /** Proves to a worker that a request came through this supervisor. */
  internalSecret: string;
  pages: LandingPages;
}

export class ProxyGate {
  readonly #o: ProxyGateOptions;

  constructor(options: ProxyGateOptions) {
    this.#o = options;
  }

  async http(req: IncomingMessage, res: ServerResponse, route: ProxiedRoute): Promise<void> {
    const identity = await this.#o.identities.of(req);
    const management = managementOf(req, route.path);
    let body: Buffer | undefined;
    let target: Handle | null = null;
    if (management === 'check-credentials') target = parseHandle(decodeURIComponent(CHECK_CREDENTIALS.exec(route.path)![1]!));
    else if (management) {
      const read = hasSmallBody(req) ? await readBody(req) : null;
      if (read === null && !res.destroyed) return sendError(res, 400, 'invalid_body', 'send the handle as a small JSON body: {"handle": "…"}');
      body = read ?? undefined;
      target = handleInBody(body);
    }
    const wanted: Wanted = route.kind === 'profile' ? { kind: 'profile', handle: route.handle } : { kind: 'api' };
    const decisions = [this.#decide(identity, wanted)];
    if (management && target) decisions.push(this.#decide(identity, { kind: management, handle: target }));
    const denied = decisions.find((d): d is Extract<Decision, { allow: false }> => !d.allow);
    if (denied) return this.#refuse(req, res, denied, identity);

    if (management === 'switch' && target && identity.kind === 'user') return this.#switch(res, identity, target);
    const worker = route.kind === 'profile' ? this.#o.supervisor.worker(route.handle) : this.#apiWorker(identity, management !== null);
    if (!worker) {
      if (route.kind === 'profile') return this.#o.pages.answerNotFound(req, res, route.handle, notFoundMessage(route.handle));
      return sendError(res, 409, 'no_active_profile', 'you have no profile yet: register one (POST /api/profile/register {"handle": "…"}), or ask an admin to grant you one');
    }
    this.#audit(req, res, identity, worker, route.path);
    if (management === 'register' && target && identity.kind === 'user') {
      res.once('finish', () => {
        if (res.statusCode === 201) void this.#o.identities.users.grant(identity.user.name, target!).catch((error) => this.#o.log.error({ err: error }, 'could not grant the registered profile'));
      });
    }
    this.#o.proxy.forward(req, res, worker.admission, route.path, route.kind === 'profile' ? route.prefix : '', { headers: this.#whoHeaders(identity), ...(body ? { body } : {}) });
  }

  async upgrade(req: IncomingMessage, socket: Duplex, head: Buffer, route: ProxiedRoute): Promise<void> {
    const identity = await this.#o.identities.of(req);
    const decision = this.#decide(identity, route.kind === 'profile' ? { kind: 'profile', handle: route.handle } : { kind: 'api' });
    const worker = route.kind === 'profile' ? this.#o.supervisor.worker(route.handle) : this.#apiWorker(identity, false);
    if (!decision.allow || !worker) {
      const status = decision.allow ? 404 : decision.status;
      socket.end(`HTTP/1.1 ${status} ${http.STATUS_CODES[status]}\r\ncontent-length: 0\r\nconnection: close\r\n\r\n`);
      return;
    }
    const who = this.#whoHeaders(identity);
    for (const name of Object.keys(req.headers)) if (name.startsWith('x-tat-')) delete req.headers[name];
    for (let i = 0; i < who.length; i += 2) req.headers[who[i]!] = who[i + 1]!;
    this.#o.websockets.upgrade(req, socket, head, worker.admission, route.path, route.kind === 'profile' ? route.prefix : '');
  }

  #decide(identity: Identity, wanted: Wanted): Decision {
    return decide(identity, wanted, (h) => this.#o.identities.users.owner(h));
  }

  /** Where this person's `/api/…` goes: their own current profile (or their first), an admin's or a token's
   *  the supervisor's. Registering needs no profile of one's own: it goes to any worker. */
  #apiWorker(identity: Identity, management: boolean): WorkerLifecycle | undefined {
    const supervisor = this.#o.supervisor;
    if (identity.kind === 'user' && !identity.user.admin) {
      const { current, profiles } = identity.user;
      const own = [current, ...profiles].filter((h): h is Handle => h !== null && profiles.includes(h)).map((h) => supervisor.worker(h)).find(Boolean);
      return own ?? (management ? supervisor.apiWorker() : undefined);
    }
    if (identity.kind === 'user' && identity.user.current) return supervisor.worker(identity.user.current) ?? supervisor.apiWorker();
    return supervisor.apiWorker();
  }

  /** With sign-in, a switch moves only the person's own `/api/…` (last_profile.json is AUTH=none's). */
  async #switch(res: ServerResponse, identity: Extract<Identity, { kind: 'user' }>, handle: Handle): Promise<void> {
    if (!this.#o.supervisor.worker(handle)) return sendError(res, 404, 'profile_not_found', `profile "${handle}" is not registered or its credentials file is missing`);
    await this.#o.identities.users.setCurrent(identity.user.name, handle);
    this.#o.log.info({ audit: true, user: identity.user.name, profile: handle, method: 'POST', path: '/api/profile/switch', status: 200 }, 'request');
    const body = JSON.stringify({ success: true, handle, requires_restart: true, message: `your /api now goes to "${handle}"; nothing to restart, and no one else's /api moved` });
    res.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(body), 'cache-control': 'no-store' });
    res.end(body);
  }

  #refuse(req: IncomingMessage, res: ServerResponse, denied: Extract<Decision, { allow: false }>, identity: Identity): void {
    if (denied.status === 401 && isNavigation(req.method, req.headers)) {
      res.writeHead(303, { location: `/login?next=${encodeURIComponent(req.url ?? '/')}`, 'content-length': 0 });
      res.end();
      return;
    }
    if (!SAFE.has(req.method ?? 'GET')) this.#o.log.info({ audit: true, user: nameOf(identity), method: req.method, path: req.url, status: denied.status }, 'request refused');
    if (isNavigation(req.method, req.headers)) return sendPage(res, genericErrorPage(denied.status, denied.code, denied.message), SUPERVISOR_FRAME);
    sendError(res, denied.status, denied.code, denied.message, {}, denied.status === 401 ? { 'www-authenticate': 'Bearer' } : {});
  }

  /** One audit line per state-changing request: who, which profile, what, and how it ended. */
  #audit(req: IncomingMessage, res: ServerResponse, identity: Identity, worker: WorkerLifecycle, path: string): void {
    if (SAFE.has(req.method ?? 'GET')) return;
    res.once('close', () => this.#o.log.info({ audit: true, user: nameOf(identity), profile: worker.admission.handle, method: req.method, path, status: res.headersSent ? res.statusCode : 499 }, 'request'));
  }

  /** Who is asking, for the worker: set only by the supervisor (a client's copies are dropped), proven by a
   *  secret the worker got at its start. */
  #whoHeaders(identity: Identity): string[] {
    const grants = profilesOf(identity);
    return [INTERNAL_SECRET_HEADER, this.#o.internalSecret, 'x-tat-user', nameOf(identity), 'x-tat-grants', grants === 'all' ? '*' : grants.join(',')];
  }
}

function managementOf(req: IncomingMessage, path: string): 'register' | 'delete' | 'switch' | 'check-credentials' | null {
  if (req.method === 'GET' && CHECK_CREDENTIALS.test(path)) return 'check-credentials';
  if (req.method !== 'POST') return null;
  return (MANAGEMENT.exec(path)?.[1] as 'register' | 'delete' | 'switch' | undefined) ?? null;
}

function handleInBody(body: Buffer | undefined): Handle | null {
  try {
    return parseHandle((JSON.parse(body?.toString('utf8') ?? '') as { handle?: unknown }).handle);
  } catch {
    return null;
  }
}
