import type { Handle } from '../shared/handle.ts';
import type { UserRecord } from '../shared/users.ts';
import type { Identity } from './identity.ts';

/** What a request wants, by route family (docs/architecture.md, "Who may do what"). */
export type Wanted =
  | { kind: 'public' } // /login, /auth/login, /healthz, what the sign-in page loads
  | { kind: 'signed-in' } // the dashboard, its assets, /auth/me, /auth/logout
  | { kind: 'profile'; handle: Handle } // /p/<h>/…
  | { kind: 'api' } // /api/…: the person's own current profile
  | { kind: 'register'; handle: Handle }
  | { kind: 'check-credentials'; handle: Handle }
  | { kind: 'switch'; handle: Handle }
  | { kind: 'delete'; handle: Handle }
  | { kind: 'workers' } // the list (filtered to what the person may use)
  | { kind: 'worker'; handle: Handle } // one, its logs, restart, stop, start
  | { kind: 'admin' } // the admin page and API, the global current profile
  | { kind: 'metrics'; loopbackPeer: boolean };

export type Decision = { allow: true } | { allow: false; status: 401 | 403; code: 'unauthorized' | 'forbidden' | 'unknown_user'; message: string };

const ALLOW: Decision = { allow: true };
const SIGN_IN: Decision = { allow: false, status: 401, code: 'unauthorized', message: 'sign in first (POST /auth/login, or the page at /login), or send "Authorization: Bearer <API token>"' };
// The same answer whether or not the profile exists: nothing of another person's profiles is told.
const NOT_YOURS: Decision = { allow: false, status: 403, code: 'forbidden', message: 'this profile is not yours to use: an admin can grant it (npm run user -- grant <you> <handle>)' };
const ADMINS_ONLY: Decision = { allow: false, status: 403, code: 'forbidden', message: 'only an admin may do this' };

/** Who may do what: one decision for every route family, from who is asking and who owns which profile.
 *  Pure: the callers resolve the identity and the owner. */
export function decide(identity: Identity, wanted: Wanted, ownerOf: (handle: Handle) => UserRecord | undefined): Decision {
  if (wanted.kind === 'public') return ALLOW;
  if (identity.kind === 'local' || identity.kind === 'admin-token') return ALLOW;
  if (identity.kind === 'anonymous') return wanted.kind === 'metrics' && wanted.loopbackPeer ? ALLOW : SIGN_IN;
  if (identity.kind === 'unknown-user') {
    if (wanted.kind === 'metrics' && wanted.loopbackPeer) return ALLOW;
    return {
      allow: false,
      status: 403,
      code: 'unknown_user',
      message: `the sign-in proxy says you are "${identity.name}", but there is no such user here: an admin adds you with "npm run user -- add ${identity.name} --profile <handle>" (or on the admin page)`,
    };
  }
  const user = identity.user;
  if (user.admin) return ALLOW;
  const granted = (h: Handle) => user.profiles.includes(h);
  const freeOrMine = (h: Handle) => {
    const owner = ownerOf(h);
    return !owner || owner.name === user.name;
  };
  switch (wanted.kind) {
    case 'signed-in':
    case 'api':
    case 'workers':
      return ALLOW;
    case 'profile':
    case 'switch':
    case 'delete':
    case 'worker':
      return granted(wanted.handle) ? ALLOW : NOT_YOURS;
    case 'register':
    case 'check-credentials':
      return freeOrMine(wanted.handle) ? ALLOW : NOT_YOURS;
    case 'metrics':
      return wanted.loopbackPeer ? ALLOW : ADMINS_ONLY;
    case 'admin':
      return ADMINS_ONLY;
  }
}

/** The profiles a person may use: `'all'` for admins and AUTH=none. */
export function profilesOf(identity: Identity): Handle[] | 'all' {
  if (identity.kind === 'local' || identity.kind === 'admin-token') return 'all';
  if (identity.kind === 'user') return identity.user.admin ? 'all' : identity.user.profiles;
  return [];
}

/** How the audit line and the workers name who is asking. */
export function nameOf(identity: Identity): string {
  switch (identity.kind) {
    case 'local':
      return 'local';
    case 'anonymous':
      return 'anonymous';
    case 'admin-token':
      return 'SUPERVISOR_TOKEN';
    case 'unknown-user':
      return `unknown:${identity.name}`;
    case 'user':
      return identity.user.name;
  }
}
