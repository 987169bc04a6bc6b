import type { Handle } from '../profiles/handle.ts';
import type { Action } from './actions.ts';

export type { Action };

/** Who is asking, as every access decision sees it, in both processes (docs/architecture.md, "Who may do
 *  what"). `client` says whether the request came from this machine itself: a loopback peer that no proxy
 *  forwarded (a forwarded request is judged by the client's address the proxy gave). */
export type Asker =
  /** AUTH=none: whoever is on this machine. `tokenRequired`: SUPERVISOR_TOKEN is set and was not given. */
  | { kind: 'local'; loopback: boolean; tokenRequired: boolean }
  | { kind: 'anonymous'; loopback: boolean }
  | { kind: 'user'; user: { name: string; admin: boolean; profiles: readonly Handle[] }; loopback?: boolean }
  /** SUPERVISOR_TOKEN: an admin everywhere. */
  | { kind: 'admin-token' }
  /** METRICS_TOKEN: `/metrics` only. */
  | { kind: 'metrics-token' }
  /** A trusted sign-in proxy named someone users.json does not know. */
  | { kind: 'unknown-user'; name: string; loopback: boolean };

/** With AUTH=none these change what the supervisor runs: SUPERVISOR_TOKEN, when set, is needed for them,
 *  whichever route reaches them. */
const MANAGING = new Set<Action>(['admin', 'operate', 'switch', 'delete']);

export type Refusal = { allow: false; status: 401 | 403; code: 'unauthorized' | 'forbidden' | 'unknown_user'; message: string };
export type Decision = { allow: true } | Refusal;

const ALLOW: Decision = { allow: true };
const SIGN_IN: Refusal = { allow: false, status: 401, code: 'unauthorized', message: 'sign in first (POST /auth/login, or the page at /login), or send "Authorization: Bearer <API token>"' };
// The same answer whether or not the profile exists: nothing of another person's profiles is told.
const NOT_YOURS: Refusal = { allow: false, status: 403, code: 'forbidden', message: 'this profile is not yours to use: an admin can grant it (npm run user -- grant <you> <handle>)' };
const TAKEN: Refusal = { allow: false, status: 403, code: 'forbidden', message: 'this handle belongs to someone else: choose another one, or ask an admin to grant it to you' };
const ADMINS_ONLY: Refusal = { allow: false, status: 403, code: 'forbidden', message: 'only an admin may do this' };
const NEEDS_TOKEN: Refusal = { allow: false, status: 401, code: 'unauthorized', message: 'this needs "Authorization: Bearer <SUPERVISOR_TOKEN>"' };
const THIS_MACHINE: Refusal = { allow: false, status: 403, code: 'forbidden', message: 'without sign-in (AUTH=none) only this machine itself may use this server; set AUTH=local to let others in' };
const METRICS_ONLY: Refusal = { allow: false, status: 403, code: 'forbidden', message: 'METRICS_TOKEN opens /metrics only' };

/** Who may do what: one decision for every route of both processes, from who is asking, what the route
 *  does, the profile it names (`null` for the setup worker's own routes) and whether that handle is anyone's
 *  already. Pure. */
export function decide(asker: Asker, action: Action, handle: Handle | null, grantedToAnyone: (handle: Handle) => boolean): Decision {
  if (action === 'public') return ALLOW;
  switch (asker.kind) {
    case 'admin-token':
      return ALLOW;
    case 'metrics-token':
      return action === 'metrics' ? ALLOW : METRICS_ONLY;
    case 'local':
      if (!asker.loopback) return THIS_MACHINE;
      return MANAGING.has(action) && asker.tokenRequired ? NEEDS_TOKEN : ALLOW;
    case 'anonymous':
      return action === 'metrics' && asker.loopback ? ALLOW : SIGN_IN;
    case 'unknown-user':
      if (action === 'metrics' && asker.loopback) return ALLOW;
      return {
        allow: false,
        status: 403,
        code: 'unknown_user',
        message: `the sign-in proxy says you are "${asker.name}", but there is no such user here: an admin adds you with "npm run user -- add ${asker.name} --profile <handle>" (or on the admin page)`,
      };
    case 'user':
      break;
  }
  const { user } = asker;
  if (user.admin) return ALLOW;
  switch (action) {
    case 'signed-in':
      return ALLOW;
    case 'admin':
      return ADMINS_ONLY;
    case 'metrics':
      return asker.loopback ? ALLOW : ADMINS_ONLY;
    case 'use':
    case 'operate':
    case 'switch':
    case 'delete':
      // A worker's own routes on the setup worker (no profile) are anyone's.
      return handle === null || user.profiles.includes(handle) ? ALLOW : NOT_YOURS;
    case 'register':
      if (handle === null || user.profiles.includes(handle)) return ALLOW;
      return grantedToAnyone(handle) ? TAKEN : ALLOW;
  }
}

/** The profiles someone may use: `'all'` for admins, SUPERVISOR_TOKEN and AUTH=none. */
export function profilesOf(asker: Asker): readonly Handle[] | 'all' {
  if (asker.kind === 'local' || asker.kind === 'admin-token') return 'all';
  if (asker.kind === 'user') return asker.user.admin ? 'all' : asker.user.profiles;
  return [];
}

/** How audit lines and the workers name who is asking. */
export function nameOf(asker: Asker): string {
  switch (asker.kind) {
    case 'local':
      return 'local';
    case 'anonymous':
      return 'anonymous';
    case 'admin-token':
      return 'SUPERVISOR_TOKEN';
    case 'metrics-token':
      return 'METRICS_TOKEN';
    case 'unknown-user':
      return `unknown:${asker.name}`;
    case 'user':
      return asker.user.name;
  }
}
