import type { IncomingMessage, ServerResponse } from 'node:http';
import { audit, audited } from '../../shared/http/audit.ts';
import { isSafeMethod } from '../../shared/http/methods.ts';
import { decide, nameOf, type Action, type Decision } from '../../shared/access/access-rules.ts';
import type { Handle } from '../../shared/profiles/handle.ts';
import type { Logger } from '../../shared/runtime/logger.ts';
import { answerRefusal, type Refusal } from '../../shared/http/refusal.ts';
import type { RouteJudge } from '../../shared/http/route-access.ts';
import { SUPERVISOR_FRAME } from '../web/landing-pages.ts';
import type { Identities, Identity } from './identity.ts';

/** The supervisor's one gate (docs/architecture.md, "Who may do what"), in every mode (AUTH none, local,
 *  proxy), for both transports and both kinds of route: who is asking (`Identities`), whether they may
 *  (`shared/access/access-rules.ts`), the one answer of a refusal, and the audit line of every change. The Koa
 *  routes reach it through their declarations (`judge`), the proxied paths through `ProxyGate`. */
export class Gate {
  readonly #identities: Identities;
  readonly #log: Logger;

  constructor(options: { identities: Identities; log: Logger }) {
    this.#identities = options.identities;
    this.#log = options.log;
  }

  get identities(): Identities {
    return this.#identities;
  }

  identify(req: IncomingMessage): Identity | Promise<Identity> {
    return this.#identities.of(req);
  }

  decide(identity: Identity, action: Action, handle: Handle | null): Decision {
    return decide(identity, action, handle, (h) => this.#identities.users.owner(h) !== undefined);
  }

  /** Whether the person behind `req` may do `action` (the pages show only the buttons that would work). */
  async mayDo(req: IncomingMessage, action: Action, handle: Handle | null): Promise<boolean> {
    return this.decide(await this.identify(req), action, handle).allow;
  }

  /** Answers a refusal (a sign-in page for a browser that must sign in first), audited when the request
   *  would have changed something. */
  refuse(req: IncomingMessage, res: ServerResponse, refusal: Refusal, identity: Identity): void {
    if (!isSafeMethod(req.method)) audit(this.#log, { user: nameOf(identity), method: req.method, path: req.url, status: refusal.status }, 'request refused');
    answerRefusal(req, res, refusal, { frame: SUPERVISOR_FRAME, signInPath: '/login' });
  }

  /** One audit line for a state-changing request that was let through, when its answer ends. */
  audit(req: IncomingMessage, res: ServerResponse, identity: Identity, profile: string | null, path: string): void {
    if (isSafeMethod(req.method)) return;
    res.once('close', () => audit(this.#log, { user: nameOf(identity), profile, method: req.method, path, status: res.headersSent ? res.statusCode : 499 }));
  }

  /** The supervisor's Koa routes: each one's declaration asks here (`shared/http/route-access.ts`). Who is asking
   *  is left in `ctx.state.identity` for the handlers. */
  readonly judge: RouteJudge = {
    admit: async (ctx, access, handle) => {
      const identity: Identity = ctx.state.identity ?? (ctx.state.identity = await this.identify(ctx.req));
      // The supervisor has no profile of its own: a route that says 'own' is nobody's.
      const decision: Decision = handle === 'own' ? { allow: false, status: 403, code: 'forbidden', message: 'this route is not open to anyone' } : this.decide(identity, access.action, handle);
      if (decision.allow) return true;
      ctx.respond = false;
      this.refuse(ctx.req, ctx.res, decision, identity);
      return false;
    },
    audited: (ctx, next, handle) => audited(ctx, next, this.#log, { user: nameOf(ctx.state.identity as Identity), profile: handle === 'own' ? null : handle }),
    refuse: (ctx, refusal) => {
      ctx.respond = false;
      this.refuse(ctx.req, ctx.res, refusal, (ctx.state.identity as Identity | undefined) ?? { kind: 'anonymous', loopback: false });
    },
  };
}
