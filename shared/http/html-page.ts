import type { IncomingHttpHeaders, ServerResponse } from 'node:http';
import { esc, pageShell } from './page-shell.ts';

export { esc };

/** The headers every page is served with (the static pages and the generated ones alike). */
export const PAGE_HEADERS = {
  'content-security-policy': "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
  'referrer-policy': 'same-origin',
  'x-content-type-options': 'nosniff',
  'cache-control': 'no-store',
} as const;

/** A browser navigating to a URL (a person), not a program calling an API: they get pages, programs JSON. */
export function isNavigation(method: string | undefined, headers: IncomingHttpHeaders): boolean {
  return (method === 'GET' || method === 'HEAD') && (headers.accept ?? '').includes('text/html');
}

/** A button that POSTs (JSON) with the page's own script, then reloads the page or waits for a worker. */
export interface PostAction {
  label: string;
  post: string;
  body?: Record<string, unknown>;
  /** Wait, after the POST, until this profile's worker is ready (a register or start), then reload. */
  waitFor?: string;
  /** What the button does while it runs ("Starting the worker"), and the most it can take. */
  busy?: string;
  limitMs?: number;
  primary?: boolean;
}

export type PageAction = PostAction | { label: string; href: string; primary?: boolean };

/** What a page for a person says: what happened, the facts, what to do, and the buttons to do it. Text
 *  only (everything is escaped); `code` spans are written between backticks. */
export interface PageContent {
  status: number;
  title: string;
  lead: string;
  facts?: [string, string][];
  steps?: string[];
  /** Recent log lines, already made readable. */
  lines?: { time: string; level: string; text: string; count: number }[];
  actions?: PageAction[];
  /** A stable name for the situation (the API's error code), for tests and scripts reading the page. */
  code: string;
}

export interface PageFrame {
  /** Where `base.css`, `client.js` and `landing.js` are served (ends with `/`). */
  assets: string;
  /** The link back: the dashboard, or the profile's page. */
  home: { href: string; label: string };
  subtitle?: string;
}

export function renderPage(content: PageContent, frame: PageFrame): string {
  const facts = content.facts?.length
    ? `<dl class="kv">${content.facts.map(([k, v]) => `<dt>${esc(k)}</dt><dd>${rich(v)}</dd>`).join('')}</dl>`
    : '';
  const steps = content.steps?.length ? `<ol class="steps">${content.steps.map((s) => `<li>${rich(s)}</li>`).join('')}</ol>` : '';
  const lines = content.lines?.length
    ? `<h3>Its last log lines</h3><ol class="log-lines" data-testid="log-lines">${content.lines
        .map((l) => `<li class="level-${esc(l.level)}"><time>${esc(l.time)}</time> <b>${esc(l.level)}</b> ${esc(l.text)}${l.count > 1 ? ` <span class="repeat">×${l.count}</span>` : ''}</li>`)
        .join('')}</ol>`
    : '';
  const actions = content.actions?.length ? `<div class="row actions">${content.actions.map(action).join('')}</div>` : '';
  return pageShell(
    { title: `TAT-MIS · ${content.title}`, assets: frame.assets, script: 'landing.js' },
    `<header class="top"><h1>TAT-MIS</h1>${frame.subtitle ? `<span class="sub">${esc(frame.subtitle)}</span>` : ''}<a href="${esc(frame.home.href)}">${esc(frame.home.label)}</a></header>
<main class="landing">
<section class="card" data-code="${esc(content.code)}" data-status="${content.status}">
<h2>${esc(content.title)}</h2>
<p class="lead">${rich(content.lead)}</p>
${facts}${steps}${lines}${actions}
<p class="progress" id="landing-progress" aria-live="polite"></p>
<p class="error" id="landing-error" role="alert"></p>
</section>
</main>`,
  );
}

/** For the paths that answer without Koa (the supervisor's proxy). */
export function sendPage(res: ServerResponse, content: PageContent, frame: PageFrame, headers: Record<string, string> = {}): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const body = renderPage(content, frame);
  res.writeHead(content.status, { 'content-type': 'text/html; charset=utf-8', 'content-length': Buffer.byteLength(body), ...PAGE_HEADERS, ...headers });
  res.end(body);
}

/** The page for any error answer that has no page of its own: its message, and the way back. */
export function genericErrorPage(status: number, code: string, message: string, retryUrl?: string): PageContent {
  const title = status === 404 ? 'Not found' : status === 401 || status === 403 ? 'Not allowed' : status === 409 ? 'Not possible right now' : status >= 500 ? 'Something failed' : 'That did not work';
  return {
    status,
    code,
    title,
    lead: capitalise(message),
    actions: status >= 500 && retryUrl ? [{ label: 'Try again', href: retryUrl, primary: true }] : [],
  };
}

function capitalise(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1) + (/[.!?]$/.test(s) ? '' : '.');
}

function action(a: PageAction): string {
  const cls = a.primary ? ' class="primary"' : '';
  if ('href' in a) return `<a class="button${a.primary ? ' primary' : ''}" href="${esc(a.href)}">${esc(a.label)}</a>`;
  const data = [
    `data-post="${esc(a.post)}"`,
    a.body ? `data-body="${esc(JSON.stringify(a.body))}"` : '',
    a.waitFor ? `data-wait-for="${esc(a.waitFor)}"` : '',
    a.busy ? `data-busy="${esc(a.busy)}"` : '',
    a.limitMs ? `data-limit-ms="${a.limitMs}"` : '',
  ].filter(Boolean);
  return `<button type="button"${cls} ${data.join(' ')}>${esc(a.label)}</button>`;
}


/** Escaped text where `between backticks` becomes code. */
function rich(s: string): string {
  return esc(s).replace(/`([^`]+)`/g, '<code>$1</code>');
}
