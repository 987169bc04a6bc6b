import { sameSecret } from '../shared/same-secret.ts';
import type { IncomingMessage } from 'node:http';
import type { Settings } from '../shared/settings.ts';
import type { UserRecord, UserStore } from '../shared/users.ts';
import type { SignInStore } from './sign-ins.ts';
import { trustedPeers } from './trusted-peers.ts';

export const SESSION_COOKIE = 'tat_session';

/** Who is asking. `local`: AUTH=none, where everyone on this machine may do everything (as before sign-in
 *  existed). `admin-token`: SUPERVISOR_TOKEN. `unknown-user`: a trusted proxy named someone users.json does
 *  not know. */
export type Identity =
  | { kind: 'local' }
  | { kind: 'anonymous' }
  | { kind: 'user'; user: UserRecord; via: 'session' | 'token' | 'proxy'; sessionId?: string }
  | { kind: 'admin-token' }
  | { kind: 'unknown-user'; name: string };

/** Resolves who is asking, from the session cookie, a bearer token or the trusted proxy's header — one
 *  place, for the proxied paths and the supervisor's own routes alike. */
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

  async of(req: IncomingMessage): Promise<Identity> {
    if (this.#settings.AUTH === 'none') return { kind: 'local' };
    const bearer = bearerOf(req.headers.authorization);
    if (bearer !== null) {
      if (this.#settings.SUPERVISOR_TOKEN && sameSecret(bearer, this.#settings.SUPERVISOR_TOKEN)) return { kind: 'admin-token' };
      const found = this.#users.byToken(bearer);
      return found ? { kind: 'user', user: found.user, via: 'token' } : { kind: 'anonymous' };
    }
    if (this.#settings.AUTH === 'proxy') {
      const name = req.headers[this.#proxyHeader];
      // The header counts only from a trusted proxy: from anyone else it is ignored, whatever it says.
      if (typeof name === 'string' && name && this.#trusted(req.socket.remoteAddress)) {
        const user = this.#users.find(name.trim().toLowerCase());
        return user ? { kind: 'user', user, via: 'proxy' } : { kind: 'unknown-user', name };
      }
    }
    const sessionId = cookieOf(req.headers.cookie, SESSION_COOKIE);
    if (sessionId && this.#signIns) {
      const signIn = await this.#signIns.get(sessionId).catch(() => null);
      const user = signIn && this.#users.find(signIn.user);
      // A password changed (or the user removed) since the sign-in ends it.
      if (user && signIn.created >= Date.parse(user.password_changed_at)) return { kind: 'user', user, via: 'session', sessionId };
    }
    return { kind: 'anonymous' };
  }
}

function bearerOf(header: string | undefined): string | null {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header ?? '');
  return match ? match[1]! : null;
}

export function cookieOf(header: string | undefined, name: string): string | null {
  if (!header) return null;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq !== -1 && part.slice(0, eq).trim() === name) return decodeURIComponent(part.slice(eq + 1).trim());
  }
  return null;
}

