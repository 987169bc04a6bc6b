// One worker's log lines (`/logs?handle=<h>`): the recent ones, then new ones as they come, over Server-Sent
// Events from /supervisor/api/workers/<h>/logs/stream, made readable by the supervisor (the same lines the
// dashboard and the landing pages show). Newest at the bottom; the view follows them unless the person
// scrolled up. Consecutive identical lines are shown once with their count.
import { api, byId, el, userMenu } from './client.js';
import { followEvents } from './event-stream.js';
import { clock } from './format.js';

const RANK = { trace: 10, debug: 20, info: 30, warn: 40, error: 50, fatal: 60 };
/** What the select offers: the lowest level shown. */
const MINIMUM = { all: 0, info: 30, warn: 40, error: 50 };
/** How many entries the page keeps (the supervisor keeps the last 500 lines; a page left open gathers more). */
const MAX_ENTRIES = 2000;

const params = new URLSearchParams(location.search);
const handle = params.get('handle');
const view = byId('log-view');
const list = byId('lines');
const select = byId('level');
const errorEl = byId('logs-error');
const liveState = byId('live-state');
const toNewest = byId('to-newest');
const empty = byId('empty');
const counts = byId('counts');

/** The entries shown, oldest first: one per run of identical lines. */
let entries = [];
/** Lines seen, by level (a collapsed run counts each of its lines). */
let byLevel = {};
/** Whether the view shows the newest line: measured before each change, so that a person who scrolled up
 *  stays where they are even when lines come faster than scroll events. */
const atBottom = () => view.scrollHeight - view.scrollTop - view.clientHeight < 30;

/** @param {string} text @param {string} kind */
function setState(text, kind) {
  liveState.textContent = text;
  liveState.dataset.state = kind;
}

/** @param {Date} at @param {number | null} pid @param {Date} [first] */
function titleOf(at, pid, first) {
  const when = Number.isNaN(at.getTime()) ? '' : at.toLocaleString();
  return [first ? `first at ${first.toLocaleString()}, last at ${when}` : when, pid ? `pid ${pid}` : ''].filter(Boolean).join(' · ');
}

/** An entry for one readable line (supervisor/web/readable-lines.ts). @param {string} data */
function entryOf(data) {
  const line = JSON.parse(data);
  const level = line.level in RANK ? line.level : 'info';
  const at = line.at ? new Date(line.at) : new Date();
  const timeEl = el('time', { datetime: line.at, title: titleOf(at, line.pid) }, clock(at));
  const countEl = el('span', { class: 'log-count', hidden: true });
  const node = el('li', { class: `log-line lv-${level}`, 'data-level': level },
    timeEl,
    el('span', { class: 'log-level' }, level.toUpperCase()),
    el('span', { class: 'log-body' },
      el('span', { class: 'log-msg' }, line.msg),
      line.fields.length ? el('span', { class: 'log-fields' }, line.fields.map(([k, v]) => el('span', { class: 'log-field' }, el('span', { class: 'log-key' }, k), '=', v))) : null,
      countEl,
      line.stack ? el('details', { class: 'log-stack' }, el('summary', {}, 'stack'), el('pre', {}, line.stack)) : null));
  return { key: `${level} ${line.text}`, level, node, timeEl, countEl, count: 1, first: at, line };
}

/** One line: a new entry, or one more of the entry before when it is the same line again. */
function add(raw) {
  const next = entryOf(raw);
  byLevel[next.level] = (byLevel[next.level] ?? 0) + 1;
  const last = entries.at(-1);
  if (last && last.key === next.key) {
    last.count += 1;
    last.countEl.hidden = false;
    last.countEl.textContent = `×${last.count}`;
    last.timeEl.textContent = next.timeEl.textContent;
    last.timeEl.setAttribute('title', titleOf(next.first, next.line.pid, last.first));
    return;
  }
  entries.push(next);
  list.append(next.node);
  while (entries.length > MAX_ENTRIES) entries.shift().node.remove();
}

function visible() {
  const min = MINIMUM[select.value] ?? 0;
  return entries.some((e) => RANK[e.level] >= min);
}

/** After lines came or the filter changed: counts, the empty note, and the view at the bottom if it was
 *  (`follow`: it was, before the change). */
function refreshed(follow) {
  const lines = Object.values(byLevel).reduce((a, b) => a + b, 0);
  const warnings = byLevel.warn ?? 0;
  const errors = (byLevel.error ?? 0) + (byLevel.fatal ?? 0);
  counts.textContent = `${lines} line${lines === 1 ? '' : 's'}` +
    (warnings ? ` · ${warnings} warning${warnings === 1 ? '' : 's'}` : '') + (errors ? ` · ${errors} error${errors === 1 ? '' : 's'}` : '');
  empty.hidden = visible();
  if (follow) view.scrollTop = view.scrollHeight;
  toNewest.hidden = follow || atBottom();
}

function reset(lines) {
  const follow = atBottom();
  entries = [];
  byLevel = {};
  list.replaceChildren();
  for (const line of lines) add(line);
  refreshed(follow);
}

view.addEventListener('scroll', () => {
  if (atBottom()) toNewest.hidden = true;
});
toNewest.addEventListener('click', () => {
  toNewest.hidden = true;
  view.scrollTop = view.scrollHeight;
});

select.value = MINIMUM[params.get('level')] !== undefined ? params.get('level') : 'all';
list.dataset.min = select.value;
select.addEventListener('change', () => {
  const follow = atBottom();
  list.dataset.min = select.value;
  const url = new URL(location.href);
  url.searchParams.set('level', select.value);
  history.replaceState(null, '', url);
  refreshed(follow);
});

/** Why the stream is not there: the API's own answer (no such profile, not yours, signed out). */
async function explain() {
  try {
    await api('GET', `/supervisor/api/workers/${encodeURIComponent(handle)}`);
    return null;
  } catch (error) {
    if (error.status === 401) location.assign(`/login?next=${encodeURIComponent(location.pathname + location.search)}`);
    return error.message;
  }
}

function follow() {
  // The tail comes first on every (re)connection: gathered, then shown in one go instead of the old lines.
  let tail = null;
  const following = followEvents(`/supervisor/api/workers/${encodeURIComponent(handle)}/logs/stream?format=readable`, {
    onUp: () => {
      tail = [];
      setState('loading…', 'loading');
    },
    onDown: () => setState('reconnecting…', 'reconnecting'),
    events: {
      line: (data) => {
        if (tail) tail.push(data);
        else {
          const follow = atBottom();
          add(data);
          refreshed(follow);
        }
      },
      live: () => {
        reset(tail ?? []);
        tail = null;
        errorEl.textContent = '';
        setState('● live', 'live');
      },
      gone: (data) => {
        following.close();
        setState('ended', 'ended');
        errorEl.textContent = `${JSON.parse(data).message}. The lines above are the last ones.`;
      },
    },
    // Refused (not a stream): say why, or try again when the reason has gone.
    explain,
    onEnded: (why) => {
      setState('not available', 'ended');
      errorEl.textContent = why;
    },
  });
}

async function start() {
  if (!handle) {
    setState('', 'ended');
    errorEl.textContent = 'No profile given: open a profile\'s logs from the dashboard ("Logs" on its row), or add ?handle=<handle> to this address.';
    byId('handle').textContent = '–';
    return;
  }
  byId('handle').textContent = handle;
  document.title = `TAT-MIS · logs · ${handle}`;
  userMenu(byId('user-menu'));
  const why = await explain();
  if (why) {
    setState('not available', 'ended');
    errorEl.textContent = why;
    return;
  }
  const link = byId('profile-link');
  link.href = `/p/${encodeURIComponent(handle)}/`;
  link.hidden = false;
  follow();
}

void start();
