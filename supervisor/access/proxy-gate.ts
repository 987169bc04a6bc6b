import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { getRawBody } from '../../shared/runtime/cjs-imports.ts';
import { ApiError, errorBody, sendError } from '../../shared/http/api-error.ts';
import { nameOf, profilesOf, type Decision } from '../../shared/access/access-rules.ts';
import type { Handle } from '../../shared/profiles/handle.ts';
import { writeRawAnswer } from '../../shared/http/http-server.ts';
import { INTERNAL_SECRET_HEADER } from '../../shared/access/internal-secret.ts';
import { JSON_LIMIT_BYTES, parseJsonBody, requireHandle, requireJsonType, tooLarge } from '../../shared/http/json-body.ts';
import type { Logger } from '../../shared/runtime/logger.ts';
import { refuseUpgrade } from '../../shared/http/refusal.ts';
import type { WorkerProxy } from '../proxy/proxy.ts';
import type { Route } from '../proxy/routing.ts';
import type { Supervisor } from '../control/supervisor.ts';
import type { WebSocketProxy } from '../proxy/websocket-proxy.ts';
import type { WorkerLifecycle } from '../workers/worker-lifecycle.ts';
import { notFoundMessage, VARY_ACCEPT, type LandingPages } from '../web/landing-pages.ts';
import type { Gate } from './gate.ts';
import type { Identity } from './identity.ts';
import { namedRouteOf, type NamedRouteMatch } from './named-routes.ts';

export type ProxiedRoute = Extract<Route, { kind: 'profile' | 'api' }>;

export interface ProxyGateOptions {
  gate: Gate;
  supervisor: Supervisor;
  proxy: WorkerProxy;
  websockets: WebSocketProxy;
  log: Logger;
  /** Proves to a worker that a request came through this supervisor. */
  internalSecret: string;
  pages: LandingPages;
}

/** The gate in front of every proxied path, in every mode: who is asking, whether they may use the profile
 *  (`/p/<h>/…`) or which of theirs `/api/…` means, and — for the worker routes that name another profile
 *  (register, switch, delete, check-credentials) — whether they may act on that one, decided on the very
 *  body the worker gets: read and parsed here by the worker's own parser, and sent on re-serialised. The
 *  worker is told who is asking (headers only this supervisor can set), and checks again. */
export class ProxyGate {
  readonly #o: ProxyGateOptions;

  constructor(options: ProxyGateOptions) {
    this.#o = options;
  }

  /** A proxied request: forwarded when allowed, or — with `allowed` — handed to that instead (the
   *  redirect of `/p/<h>` to its page is decided like the page). */
  http(req: IncomingMessage, res: ServerResponse, route: ProxiedRoute, allowed?: () => void): void {
    const identity = this.#o.gate.identify(req);
    if (identity instanceof Promise) {
      identity.then(
        (who) => this.#http(req, res, route, who, allowed),
        () => sendError(res, { status: 500, code: 'internal_error', message: 'who is asking could not be checked' }),
      );
      return;
    }
    this.#http(req, res, route, identity, allowed);
  }

  upgrade(req: IncomingMessage, socket: Duplex, head: Buffer, route: ProxiedRoute): void {
    void Promise.resolve(this.#o.gate.identify(req)).then(
      (identity) => {
        const decision = this.#routeDecision(identity, route);
        if (!decision.allow) return refuseUpgrade(socket, decision);
        const worker = this.#workerFor(identity, route, false);
        if (!worker) return writeRawAnswer(socket, 404, errorBody('profile_not_found', route.kind === 'profile' ? notFoundMessage(route.handle) : 'no profile serves /api for you'));
        this.#o.websockets.upgrade({ req, socket, head, worker: worker.admission, path: route.path, prefix: route.kind === 'profile' ? route.prefix : '', headers: this.#whoHeaders(identity) });
      },
      () => socket.destroy(),
    );
  }

  #http(req: IncomingMessage, res: ServerResponse, route: ProxiedRoute, identity: Identity, allowed?: () => void): void {
    const decision = this.#routeDecision(identity, route);
    if (!decision.allow) return this.#o.gate.refuse(req, res, decision, identity);
    if (allowed) return allowed();
    const named = namedRouteOf(req.method, route.path);
    if (named) {
      void this.#named(req, res, route, identity, named).catch((error) => this.#failed(res, error));
      return;
    }
    this.#forward(req, res, route, identity, this.#workerFor(identity, route, false));
  }

  /** A worker route that names a profile: the decision on that profile too, on the body the worker gets. */
  async #named(req: IncomingMessage, res: ServerResponse, route: ProxiedRoute, identity: Identity, named: NamedRouteMatch): Promise<void> {
    const { access } = named.route;
    const from = access.handle;
    let target: Handle;
    let json: Buffer | undefined;
    if (typeof from === 'object' && 'param' in from) target = requireHandle(named.params[from.param]);
    else {
      const field = (from as { body: string }).body;
      const body = parseJsonBody(await readJsonBytes(req), access.body!) as Record<string, unknown>;
      target = requireHandle(body[field]);
      json = Buffer.from(JSON.stringify({ ...body, [field]: target }));
    }
    if (res.destroyed) return;
    const decision = this.#o.gate.decide(identity, access.action, target);
    if (!decision.allow) return this.#o.gate.refuse(req, res, decision, identity);
    if (named.name === 'switch' && identity.kind === 'user') return this.#switch(req, res, identity, target);
    if (named.name === 'register' && identity.kind === 'user') {
      res.once('finish', () => {
        if (res.statusCode === 201) void this.#o.gate.identities.users.grant(identity.user.name, target).catch((error) => this.#o.log.error({ err: error }, 'could not grant the registered profile'));
      });
    }
    this.#forward(req, res, route, identity, this.#workerFor(identity, route, true), json);
  }

  #forward(req: IncomingMessage, res: ServerResponse, route: ProxiedRoute, identity: Identity, worker: WorkerLifecycle | undefined, json?: Buffer): void {
    if (!worker) {
      if (route.kind === 'profile') return this.#o.pages.answerNotFound(req, res, route.handle, notFoundMessage(route.handle));
      if (identity.kind === 'user') return sendError(res, { status: 409, code: 'no_active_profile', message: 'you have no profile yet: register one (POST /api/profile/register {"handle": "…"}), or ask an admin to grant you one' });
      return sendError(res, { status: 503, code: 'worker_unavailable', message: 'no worker serves /api yet; try again shortly' }, { 'retry-after': '1' });
    }
    this.#o.gate.audit(req, res, identity, worker.admission.handle, route.path);
    this.#o.proxy.forward({ req, res, worker: worker.admission, path: route.path, prefix: route.kind === 'profile' ? route.prefix : '', headers: this.#whoHeaders(identity), ...(json ? { json } : {}) });
  }

  /** `/p/<h>/…`: may they use that profile; `/api/…`: are they someone (which profile it reaches is theirs). */
  #routeDecision(identity: Identity, route: ProxiedRoute): Decision {
    return route.kind === 'profile' ? this.#o.gate.decide(identity, 'use', route.handle) : this.#o.gate.decide(identity, 'signed-in', null);
  }

  /** The worker a proxied request goes to. `/api/…` of a person is their own current profile (or their
   *  first); an admin's, a token's or AUTH=none's the supervisor's current one. A person with no profile yet
   *  may still register one through any worker (`anyWorker`). */
  #workerFor(identity: Identity, route: ProxiedRoute, anyWorker: boolean): WorkerLifecycle | undefined {
    const supervisor = this.#o.supervisor;
    if (route.kind === 'profile') return supervisor.worker(route.handle);
    if (identity.kind === 'user' && !identity.user.admin) {
      const { current, profiles } = identity.user;
      const own = [current, ...profiles].filter((h): h is Handle => h !== null && profiles.includes(h)).map((h) => supervisor.worker(h)).find(Boolean);
      return own ?? (anyWorker ? supervisor.apiWorker() : undefined);
    }
    if (identity.kind === 'user' && identity.user.current) return supervisor.worker(identity.user.current) ?? supervisor.apiWorker();
    return supervisor.apiWorker();
  }

  /** With sign-in, a person's switch moves only their own `/api/…` (last_profile.json is everyone's). */
  async #switch(req: IncomingMessage, res: ServerResponse, identity: Extract<Identity, { kind: 'user' }>, handle: Handle): Promise<void> {
    this.#o.gate.audit(req, res, identity, handle, '/api/profile/switch');
    if (!this.#o.supervisor.worker(handle)) return sendError(res, { status: 404, code: 'profile_not_found', message: `profile "${handle}" is not registered or its credentials file is missing` });
    await this.#o.gate.identities.users.setCurrent(identity.user.name, handle);
    const body = JSON.stringify({ success: true, handle, requires_restart: true, message: `your /api now goes to "${handle}"; nothing to restart, and no one else's /api moved` });
    res.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(body), 'cache-control': 'no-store' });
    res.end(body);
  }

  /** A body that could not be read or used, answered as the worker would have (the same codes). */
  #failed(res: ServerResponse, error: unknown): void {
    if (error instanceof ApiError) return sendError(res, error, VARY_ACCEPT);
    this.#o.log.error({ err: error }, 'a proxied request could not be checked');
    sendError(res, { status: 500, code: 'internal_error', message: 'the request could not be checked' });
  }

  /** Who is asking, for the worker: set only by the supervisor (a client's copies are dropped), proven by a
   *  secret the worker got at its start. */
  #whoHeaders(identity: Identity): string[] {
    const grants = profilesOf(identity);
    return [INTERNAL_SECRET_HEADER, this.#o.internalSecret, 'x-tat-user', nameOf(identity), 'x-tat-grants', grants === 'all' ? '*' : grants.join(',')];
  }
}

/** A JSON body as the worker reads one: a JSON content type, at most `JSON_LIMIT_BYTES`, the declared
 *  length honoured. */
async function readJsonBytes(req: IncomingMessage): Promise<Buffer> {
  requireJsonType(req.headers['content-type']);
  try {
    return await getRawBody(req, { limit: JSON_LIMIT_BYTES, length: req.headers['content-length'] });
  } catch (error) {
    if ((error as { type?: string }).type === 'entity.too.large') throw tooLarge(JSON_LIMIT_BYTES);
    throw new ApiError(400, 'bad_request', 'the request body could not be read');
  }
}
