import fs from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { sendError, type ErrorCode } from '../../shared/http/api-error.ts';
import type { Handle } from '../../shared/profiles/handle.ts';
import { HANDLE_RULES } from '../../shared/profiles/handle.ts';
import { isNavigation, sendPage, type PageAction, type PageContent, type PageFrame } from '../../shared/http/html-page.ts';
import { shownPath } from '../../shared/profiles/paths.ts';
import type { ProfileStore } from '../../shared/profiles/profile-store.ts';
import type { Settings } from '../../shared/runtime/settings.ts';
import type { Action } from '../../shared/access/actions.ts';
import type { LastExit } from '../workers/worker-status.ts';
import { readableLines } from './readable-lines.ts';

export function notFoundMessage(handle: string): string {
  return `no profile "${handle}" on this server (not registered, credentials file missing, or outside PROFILES)`;
}

/** The same URL answers a page or JSON by its Accept header: caches must keep them apart. */
export const VARY_ACCEPT = { vary: 'Accept' } as const;

export const SUPERVISOR_FRAME: PageFrame = { assets: '/assets/', home: { href: '/', label: 'All profiles' } };

/** What the proxy could not do, as its JSON answer says it. */
export interface ProxyAnswer {
  status: number;
  code: ErrorCode;
  message: string;
  extra: Record<string, unknown>;
}

/** The pages a person's browser gets where a program gets a JSON error on the proxied paths (README,
 *  "Everyday use"): a profile that is not there (and how to make it), a worker that is stopped, crashed or
 *  slow (and the button that starts it, for those who may). */
export type MayDo = (req: IncomingMessage, action: Action, handle: Handle | null) => Promise<boolean>;

export class LandingPages {
  readonly #store: ProfileStore;
  readonly #settings: Settings;
  readonly #mayDo: MayDo;

  /** `mayDo`: whether the person asking may do an action (the gate's answer): a page shows only the
   *  buttons that would work for them. */
  constructor(options: { store: ProfileStore; settings: Settings; mayDo: MayDo }) {
    this.#store = options.store;
    this.#settings = options.settings;
    this.#mayDo = options.mayDo;
  }

  /** The proxy's error answer: a page for a person's browser, the JSON for everyone else. */
  answerProxyError(req: IncomingMessage, res: ServerResponse, answer: ProxyAnswer, extraHeaders: Record<string, string> = {}): void {
    const headers = { ...extraHeaders, ...VARY_ACCEPT };
    const json = () => sendError(res, answer, headers);
    if (!isNavigation(req.method, req.headers)) return json();
    void this.proxyError(req, answer).then((page) => sendPage(res, page, SUPERVISOR_FRAME, headers), json);
  }

  /** No worker for `/p/<handle>/…`: the page, or the JSON. */
  answerNotFound(req: IncomingMessage, res: ServerResponse, handle: Handle, message: string): void {
    const json = () => sendError(res, { status: 404, code: 'profile_not_found', message, extra: { handle } }, VARY_ACCEPT);
    if (!isNavigation(req.method, req.headers)) return json();
    void this.notFound(req, handle).then((page) => sendPage(res, page, SUPERVISOR_FRAME, VARY_ACCEPT), json);
  }

  /** `/p/<segment>/` where the segment is no handle at all. */
  invalidHandle(segment: string): PageContent {
    return {
      status: 404,
      code: 'profile_not_found',
      title: 'No such profile',
      lead: `"${decodeSafely(segment).slice(0, 80)}" cannot be a profile's name: ${HANDLE_RULES}.`,
      actions: [{ label: 'All profiles', href: '/', primary: true }],
    };
  }

  /** `/p/<handle>/` of a profile this server has no worker for: what is missing, and how to add it. */
  async notFound(req: IncomingMessage, handle: Handle): Promise<PageContent> {
    const paths = this.#store.profilePaths(handle);
    const [credentials, token] = await Promise.all([exists(paths.credentials), exists(paths.token)]);
    const credentialsFile = shownPath(this.#store.paths.configDir, paths.credentials);
    const outsideShard = this.#settings.PROFILES !== undefined && !this.#settings.PROFILES.includes(handle);
    const facts: [string, string][] = [
      ['Google credentials file', `${credentials ? 'present' : 'missing'}: \`${credentialsFile}\``],
      ['Registered', token ? 'yes' : 'no'],
    ];
    if (outsideShard) {
      return {
        status: 404,
        code: 'profile_not_found',
        title: `"${handle}" is not served here`,
        lead: `This server serves only the profiles in PROFILES (${this.#settings.PROFILES!.join(', ') || 'none'}); "${handle}" is served by another one, or needs adding to PROFILES.`,
        facts,
        actions: [{ label: 'All profiles', href: '/', primary: true }],
      };
    }
    const mayRegister = await this.#mayDo(req, 'register', handle);
    const register: PageAction = { label: `Register ${handle}`, post: '/api/profile/register', body: { handle }, waitFor: handle, busy: 'Registering and starting its worker', limitMs: this.#settings.START_TIMEOUT_MS + 5_000, primary: true };
    if (!credentials) {
      return {
        status: 404,
        code: 'profile_not_found',
        title: `"${handle}" is not set up yet`,
        lead: `There is no profile "${handle}" yet. A profile starts with its own Google OAuth client file.`,
        facts,
        steps: [
          'In Google Cloud Console, create an OAuth client (type Desktop App) with the Sheets API enabled, and download its JSON.',
          `Save it as \`${credentialsFile}\`.`,
          mayRegister ? `Come back here and press "Register ${handle}" (or use Register on the dashboard).` : 'Ask an admin to register it for you.',
        ],
        actions: mayRegister ? [register, { label: 'All profiles', href: '/' }] : [{ label: 'All profiles', href: '/', primary: true }],
      };
    }
    return {
      status: 404,
      code: 'profile_not_found',
      title: `"${handle}" is not registered yet`,
      lead: `Its Google credentials file is in place; registering it creates its token file and starts its worker${token ? ' (its token file exists but cannot be read: register it again to replace it)' : ''}.`,
      facts,
      steps: mayRegister ? [`Press "Register ${handle}", or run \`curl -X POST ${this.#settings.PUBLIC_URL}/api/profile/register -H 'Content-Type: application/json' -d '{"handle": "${handle}"}'\`.`] : ['Ask an admin to register it for you.'],
      actions: mayRegister ? [register, { label: 'All profiles', href: '/' }] : [{ label: 'All profiles', href: '/', primary: true }],
    };
  }

  /** A 502/503/504 from the proxy: for a worker that is stopped or gave up, what happened and the button
   *  that brings it back; for one that is slow or broke the connection, what to try. */
  async proxyError(req: IncomingMessage, answer: ProxyAnswer): Promise<PageContent> {
    const handle = typeof answer.extra.handle === 'string' ? (answer.extra.handle as Handle) : null;
    const state = typeof answer.extra.state === 'string' ? answer.extra.state : null;
    const name = handle ? `"${handle}"` : 'The setup worker';
    const mayControl = handle !== null && (await this.#mayDo(req, 'operate', handle));
    const start = (label: string, action: 'start' | 'restart'): PageAction => ({
      label,
      post: `/supervisor/api/workers/${handle}/${action}`,
      busy: action === 'start' ? 'Starting its worker' : 'Restarting its worker',
      limitMs: this.#settings.START_TIMEOUT_MS,
      primary: true,
    });
    const notAllowed = this.#settings.AUTH === 'none' && this.#settings.SUPERVISOR_TOKEN
      ? 'Starting it needs the supervisor token: use the dashboard with SUPERVISOR_TOKEN.'
      : 'Ask whoever manages this server to start it.';
    const back: PageAction = { label: 'All profiles', href: '/' };
    if (answer.status === 503 && state === 'stopped') {
      return {
        status: 503,
        code: answer.code,
        title: `${name} is stopped`,
        lead: 'Its worker was stopped (from the dashboard or the API) and does not start by itself.',
        facts: [['State', 'stopped']],
        ...(mayControl ? { actions: [start('Start it', 'start'), back] } : { steps: [notAllowed], actions: [back] }),
      };
    }
    if (answer.status === 503 && state === 'errored') {
      const exit = answer.extra.last_exit as LastExit | null;
      const problem = answer.extra.problem as { message: string } | null;
      const lines = Array.isArray(answer.extra.last_log_lines) ? readableLines(answer.extra.last_log_lines as string[]) : [];
      const facts: [string, string][] = [['State', 'errored: it kept crashing and was stopped']];
      if (exit) facts.push(['Last exit', `${exit.summary} at ${new Date(exit.at).toLocaleString('en-GB')}`]);
      if (problem) facts.push(['Problem', problem.message]);
      return {
        status: 503,
        code: answer.code,
        title: `${name} keeps crashing`,
        lead: 'Its worker exited again and again, so it was stopped. Fix the cause below, then restart it (a change to its files also gives it another try).',
        facts,
        lines,
        actions: [...(mayControl && handle ? [start('Restart it', 'restart')] : []), ...(handle ? [{ label: 'All its logs', href: `/logs?handle=${handle}` }] : []), back],
        ...(mayControl ? {} : { steps: [notAllowed] }),
      };
    }
    const retry: PageAction = { label: 'Try again', href: req.url ?? '/', primary: true };
    if (answer.status === 503) {
      return { status: 503, code: answer.code, title: `${name} is not available yet`, lead: answer.message, facts: state ? [['State', state]] : [], actions: [retry, back] };
    }
    return {
      status: answer.status,
      code: answer.code,
      title: answer.status === 504 ? `${name} did not answer in time` : `${name} dropped the connection`,
      lead: `${answer.message}. Its worker may have restarted meanwhile: try again.`,
      actions: [retry, back],
    };
  }
}

async function exists(file: string): Promise<boolean> {
  return fs.stat(file).then(
    (s) => s.isFile(),
    () => false,
  );
}

function decodeSafely(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}
