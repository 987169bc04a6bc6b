import type { IncomingMessage } from 'node:http';
import type { Context, Middleware } from 'koa';
import { audited } from '../../shared/http/audit.ts';
import { decide, profilesOf, type Action, type Asker, type Decision } from '../../shared/access/access-rules.ts';
import type { Handle } from '../../shared/profiles/handle.ts';
import { HOST_NOT_ALLOWED_MESSAGE, hostCheck } from '../../shared/http/host-check.ts';
import { supervisorSays } from '../../shared/access/internal-secret.ts';
import { configPaths } from '../../shared/profiles/paths.ts';
import { answerRefusal, type Refusal } from '../../shared/http/refusal.ts';
import { bearerOf } from '../../shared/http/request-credentials.ts';
import type { RouteJudge } from '../../shared/http/route-access.ts';
import { sameSecret } from '../../shared/access/same-secret.ts';
import type { Settings } from '../../shared/runtime/settings.ts';
import { UserStore } from '../../shared/access/users.ts';
import type { Logger } from '../../shared/runtime/logger.ts';
import { workerPageFrame } from './page-frame.ts';

/** Who is asking, as the routes see it: a name for the log, the profiles they may use, and the asker the
 *  access rules judge. */
export interface Who {
  user: string;
  grants: readonly Handle[] | 'all';
  /** Reached the worker's own port, not through the supervisor. */
  direct: boolean;
  asker: Asker;
}

const NOT_THROUGH_SUPERVISOR: Refusal = {
  status: 401,
  code: 'unauthorized',
  message: "with sign-in on, a worker's own port needs an admin's API token (\"Authorization: Bearer <token>\"); people use the supervisor's URL",
};

/** What a worker believes of who is asking (docs/architecture.md, "Who may do what"). Through the supervisor
 *  (its secret): whoever the supervisor says, with the profiles it says they may use. On the worker's own
 *  port: with AUTH=none whoever is on this machine (SUPERVISOR_TOKEN, when set, for what manages profiles),
 *  with sign-in an admin's token only. */
export class WorkerAccess {
  readonly #settings: Settings;
  #secret: string | undefined;
  readonly #users: UserStore | null;
  readonly #hostAllowed: (host: string | undefined) => boolean;
  readonly #handle: Handle | null;
  readonly #log: Logger;

  /** `secret`: the supervisor's, read once at start (it is not left in the environment). */
  constructor(options: { settings: Settings; secret: string | undefined; handle: Handle | null; log: Logger }) {
    this.#settings = options.settings;
    this.#secret = options.secret;
    this.#handle = options.handle;
    this.#log = options.log;
    this.#users = options.settings.AUTH === 'none' ? null : new UserStore(configPaths(options.settings.configDir).users);
    this.#hostAllowed = hostCheck(options.settings);
  }
  /** A supervisor that took this worker back proves its requests with its own secret from now on. */
  useSecret(secret: string): void {
    if (this.#secret !== undefined && secret.length >= 16) this.#secret = secret;
  }


  /** Who is asking, or the refusal of someone the worker does not answer at all. */
  who(req: IncomingMessage): Who | Refusal {
    const headers = req.headers;
    if (!this.#hostAllowed(headers.host)) return { status: 421, code: 'host_not_allowed', message: HOST_NOT_ALLOWED_MESSAGE };
    const says = supervisorSays(headers, this.#secret);
    if (says) {
      const asker: Asker = { kind: 'user', user: { name: says.user, admin: says.grants === 'all', profiles: says.grants === 'all' ? [] : says.grants } };
      return { user: says.user, grants: says.grants, direct: false, asker };
    }
    const bearer = bearerOf(headers.authorization);
    const token = this.#settings.SUPERVISOR_TOKEN;
    if (bearer && token && sameSecret(bearer, token)) return direct({ kind: 'admin-token' });
    if (!this.#users) return direct({ kind: 'local', loopback: true, tokenRequired: token !== undefined });
    const owner = bearer ? this.#users.byToken(bearer)?.user : undefined;
    if (owner?.admin) return direct({ kind: 'user', user: owner });
    return NOT_THROUGH_SUPERVISOR;
  }

  /** Whether `asker` may do `action` on `handle` (`'own'`: this worker's profile). */
  decide(asker: Asker, action: Action, handle: Handle | 'own' | null): Decision {
    return decide(asker, action, handle === 'own' ? this.#handle : handle, (h) => this.#users?.owner(h) !== undefined);
  }

  /** Who is asking (`ctx.state.who`) before any route; the `Host` check of every request. */
  middleware(): Middleware {
    const access = this;
    return async function whoIsAsking(ctx, next) {
      const who = access.who(ctx.req);
      if ('status' in who) return access.#refuse(ctx, who);
      ctx.state.who = who;
      await next();
    };
  }

  /** The worker's routes ask here through their declarations (`shared/http/route-access.ts`). What reaches the
   *  worker's own port directly is audited here; the supervisor audits what it forwards. */
  readonly judge: RouteJudge = {
    admit: (ctx, access, handle) => {
      const decision = this.decide((ctx.state.who as Who).asker, access.action, handle);
      if (decision.allow) return true;
      this.#refuse(ctx, decision);
      return false;
    },
    audited: (ctx, next) => {
      const who = ctx.state.who as Who;
      if (!who.direct || this.#settings.AUTH === 'none') return next();
      return audited(ctx, next, this.#log, { user: who.user, direct: true });
    },
    refuse: (ctx, refusal) => this.#refuse(ctx, refusal),
  };

  #refuse(ctx: Context, refusal: Refusal): void {
    ctx.respond = false;
    answerRefusal(ctx.req, ctx.res, refusal, { frame: workerPageFrame(this.#handle)(ctx) });
  }
}

function direct(asker: Asker): Who {
  const grants = profilesOf(asker);
  return { user: asker.kind === 'user' ? asker.user.name : asker.kind === 'admin-token' ? 'SUPERVISOR_TOKEN' : 'local', grants, direct: true, asker };
}
