import type { IncomingMessage } from 'node:http';
import type { Settings } from '../../shared/runtime/settings.ts';
import type { UserRecord, UserStore } from '../../shared/access/users.ts';
import { sameSecret } from '../../shared/access/same-secret.ts';
import { SESSION_COOKIE, bearerOf, cookieOf } from '../../shared/http/request-credentials.ts';
import type { SignInStore } from './sign-ins.ts';
import { clientOf, type Client } from './client-address.ts';
import { trustedPeers } from './trusted-peers.ts';

/** Who is asking (an `Asker` of shared/access/access-rules.ts, with what the supervisor knows besides).
 *  `local`: AUTH=none, whoever is on this machine. `admin-token`: SUPERVISOR_TOKEN. `metrics-token`:
 *  METRICS_TOKEN. `unknown-user`: a trusted proxy named someone users.json does not know. */
export type Identity =
  | { kind: 'local'; loopback: boolean; tokenRequired: boolean }
  | { kind: 'anonymous'; loopback: boolean }
  | { kind: 'user'; user: UserRecord; via: 'session' | 'token' | 'proxy'; sessionId?: string; loopback: boolean }
  | { kind: 'admin-token' }
  | { kind: 'metrics-token' }
  | { kind: 'unknown-user'; name: string; loopback: boolean };

/** Resolves who is asking, from a bearer token, the trusted proxy's header or the session cookie — one
 *  place, for the proxied paths, the WebSocket upgrades and the supervisor's own routes, in every mode.
 *  Synchronous unless a sign-in session must be looked up. */
export class Identities {
  readonly #settings: Settings;
  readonly #users: UserStore;
  readonly #signIns: SignInStore | null;
  readonly #trusted: (address: string | undefined) => boolean;
  readonly #proxyHeader: string;

  constructor(options: { settings: Settings; users: UserStore; signIns: SignInStore | null }) {
    this.#settings = options.settings;
    this.#users = options.users;
    this.#signIns = options.signIns;
    this.#trusted = trustedPeers(options.settings.TRUSTED_PROXIES);
    this.#proxyHeader = options.settings.AUTH_PROXY_HEADER.toLowerCase();
  }

  get users(): UserStore {
    return this.#users;
  }

  /** The header a trusted sign-in proxy names the person in (AUTH=proxy). */
  get proxyHeader(): string {
    return this.#proxyHeader;
  }

  client(req: IncomingMessage): Client {
    return clientOf(req, this.#trusted);
  }

  of(req: IncomingMessage): Identity | Promise<Identity> {
    const { SUPERVISOR_TOKEN, METRICS_TOKEN, AUTH } = this.#settings;
    const bearer = bearerOf(req.headers.authorization);
    if (bearer !== null) {
      if (SUPERVISOR_TOKEN && sameSecret(bearer, SUPERVISOR_TOKEN)) return { kind: 'admin-token' };
      if (METRICS_TOKEN && sameSecret(bearer, METRICS_TOKEN)) return { kind: 'metrics-token' };
    }
    if (AUTH === 'none') return { kind: 'local', loopback: this.client(req).loopback, tokenRequired: SUPERVISOR_TOKEN !== undefined };
    if (bearer !== null) {
      const found = this.#users.byToken(bearer);
      return found ? { kind: 'user', user: found.user, via: 'token', loopback: this.client(req).loopback } : this.#anonymous(req);
    }
    if (AUTH === 'proxy') {
      const name = req.headers[this.#proxyHeader];
      // The header counts only from a trusted proxy: from anyone else it is ignored, whatever it says.
      if (typeof name === 'string' && name && this.#trusted(req.socket.remoteAddress)) {
        const user = this.#users.find(name.trim().toLowerCase());
        const loopback = this.client(req).loopback;
        return user ? { kind: 'user', user, via: 'proxy', loopback } : { kind: 'unknown-user', name, loopback };
      }
    }
    const sessionId = cookieOf(req.headers.cookie, SESSION_COOKIE);
    if (!sessionId || !this.#signIns) return this.#anonymous(req);
    return this.#signedIn(req, sessionId);
  }

  async #signedIn(req: IncomingMessage, sessionId: string): Promise<Identity> {
    const signIn = await this.#signIns!.get(sessionId).catch(() => null);
    const user = signIn && this.#users.find(signIn.user);
    // A password changed (or the user removed) since the sign-in ends it.
    if (user && signIn.created >= Date.parse(user.password_changed_at)) return { kind: 'user', user, via: 'session', sessionId, loopback: this.client(req).loopback };
    return this.#anonymous(req);
  }

  #anonymous(req: IncomingMessage): Identity {
    return { kind: 'anonymous', loopback: this.client(req).loopback };
  }
}
