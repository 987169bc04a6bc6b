'use strict';
// One worker's log lines (`/logs?handle=<h>`): the recent ones, then new ones as they come, over Server-Sent
// Events from /supervisor/api/workers/<h>/logs/stream. Newest at the bottom; the view follows them unless
// the person scrolled up. Consecutive identical lines are shown once with their count.

const { api, el } = window.tat;
const LEVELS = { 10: 'trace', 20: 'debug', 30: 'info', 40: 'warn', 50: 'error', 60: 'fatal' };
const RANK = { trace: 10, debug: 20, info: 30, warn: 40, error: 50, fatal: 60 };
/** What the select offers: the lowest level shown. */
const MINIMUM = { all: 0, info: 30, warn: 40, error: 50 };
/** Fields every line carries that say nothing here (the page is one worker's). */
const QUIET = new Set(['level', 'time', 'msg', 'pid', 'hostname', 'handle', 'name']);
/** How many entries the page keeps (the supervisor keeps the last 500 lines; a page left open gathers more). */
const MAX_ENTRIES = 2000;

const params = new URLSearchParams(location.search);
const handle = params.get('handle');
const view = document.getElementById('log-view');
const list = document.getElementById('lines');
const select = document.getElementById('level');
const errorEl = document.getElementById('logs-error');
const liveState = document.getElementById('live-state');
const toNewest = document.getElementById('to-newest');
const empty = document.getElementById('empty');
const counts = document.getElementById('counts');

/** The entries shown, oldest first: one per run of identical lines. */
let entries = [];
/** Lines seen, by level (a collapsed run counts each of its lines). */
let byLevel = {};
/** Whether the view shows the newest line: measured before each change, so that a person who scrolled up
 *  stays where they are even when lines come faster than scroll events. */
const atBottom = () => view.scrollHeight - view.scrollTop - view.clientHeight < 30;

function setState(text, kind) {
  liveState.textContent = text;
  liveState.dataset.state = kind;
}

function parse(raw) {
  try {
    const value = JSON.parse(raw);
    if (value && typeof value === 'object' && !Array.isArray(value)) return value;
  } catch {
    // not JSON: shown as it is
  }
  return { level: 30, msg: raw };
}

/** `12:34:56.789`, the date in front when the line is not from today. */
function clock(date) {
  if (Number.isNaN(date.getTime())) return '';
  const time = date.toLocaleTimeString(undefined, { hour: '2-digit', minute: '2-digit', second: '2-digit', hour12: false });
  const ms = String(date.getMilliseconds()).padStart(3, '0');
  const today = date.toDateString() === new Date().toDateString();
  return `${today ? '' : `${date.toLocaleDateString(undefined, { month: 'short', day: 'numeric' })} `}${time}.${ms}`;
}

/** A value as a person reads it: strings bare (quoted when they hold spaces), the rest compact. */
function show(value) {
  if (typeof value === 'string') return value === '' || /[\s"=]/.test(value) ? `"${value}"` : value;
  if (Array.isArray(value)) return `[${value.map(show).join(', ')}]`;
  if (value && typeof value === 'object') return `{${Object.entries(value).map(([k, v]) => `${k}=${show(v)}`).join(' ')}}`;
  return String(value);
}

/** The fields after the message as `key=value`, nested objects as `a.b=value`; an error's stack apart. */
function fieldsOf(record) {
  const pairs = [];
  let stack = null;
  const walk = (prefix, value, depth) => {
    if (value && typeof value === 'object' && !Array.isArray(value) && depth < 3) {
      for (const [k, v] of Object.entries(value)) {
        if (k === 'stack' && typeof v === 'string') stack = v;
        else walk(`${prefix}.${k}`, v, depth + 1);
      }
    } else pairs.push([prefix, show(value)]);
  };
  for (const [k, v] of Object.entries(record)) if (!QUIET.has(k)) walk(k, v, 0);
  return { pairs, stack };
}

function entryOf(raw) {
  const record = parse(raw);
  const level = LEVELS[record.level] ?? (typeof record.level === 'string' && RANK[record.level] ? record.level : 'info');
  const at = new Date(record.time ?? Date.now());
  const { time: _time, ...same } = record;
  const { pairs, stack } = fieldsOf(record);
  const timeEl = el('time', { datetime: Number.isNaN(at.getTime()) ? null : at.toISOString(), title: titleOf(at, record) }, clock(at));
  const countEl = el('span', { class: 'log-count', hidden: true });
  const node = el('li', { class: `log-line lv-${level}`, 'data-level': level },
    timeEl,
    el('span', { class: 'log-level' }, level.toUpperCase()),
    el('span', { class: 'log-body' },
      el('span', { class: 'log-msg' }, typeof record.msg === 'string' ? record.msg : show(record.msg ?? '')),
      pairs.length ? el('span', { class: 'log-fields' }, pairs.map(([k, v]) => el('span', { class: 'log-field' }, el('span', { class: 'log-key' }, k), '=', v))) : null,
      countEl,
      stack ? el('details', { class: 'log-stack' }, el('summary', {}, 'stack'), el('pre', {}, stack)) : null));
  return { key: JSON.stringify(same), level, node, timeEl, countEl, count: 1, first: at, record };
}

function titleOf(at, record, first) {
  const when = Number.isNaN(at.getTime()) ? '' : at.toLocaleString();
  return [first ? `first at ${first.toLocaleString()}, last at ${when}` : when, record.pid ? `pid ${record.pid}` : ''].filter(Boolean).join(' · ');
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
    last.timeEl.setAttribute('title', titleOf(new Date(next.record.time ?? Date.now()), next.record, last.first));
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
  const source = new EventSource(`/supervisor/api/workers/${encodeURIComponent(handle)}/logs/stream`);
  // The tail comes first on every (re)connection: gathered, then shown in one go instead of the old lines.
  let tail = null;
  source.addEventListener('open', () => {
    tail = [];
    setState('loading…', 'loading');
  });
  source.addEventListener('line', (event) => {
    if (tail) tail.push(event.data);
    else {
      const follow = atBottom();
      add(event.data);
      refreshed(follow);
    }
  });
  source.addEventListener('live', () => {
    reset(tail ?? []);
    tail = null;
    errorEl.textContent = '';
    setState('● live', 'live');
  });
  source.addEventListener('gone', (event) => {
    source.close();
    setState('ended', 'ended');
    errorEl.textContent = `${JSON.parse(event.data).message}. The lines above are the last ones.`;
  });
  source.addEventListener('error', async () => {
    if (source.readyState !== EventSource.CLOSED) {
      setState('reconnecting…', 'reconnecting');
      return;
    }
    // Refused (not a stream): say why, or try again when the reason has gone.
    const why = await explain();
    setState(why ? 'not available' : 'reconnecting…', why ? 'ended' : 'reconnecting');
    if (why) errorEl.textContent = why;
    else setTimeout(follow, 2000);
  });
}

async function start() {
  if (!handle) {
    setState('', 'ended');
    errorEl.textContent = 'No profile given: open a profile\'s logs from the dashboard ("Logs" on its row), or add ?handle=<handle> to this address.';
    document.getElementById('handle').textContent = '–';
    return;
  }
  document.getElementById('handle').textContent = handle;
  document.title = `TAT-MIS · logs · ${handle}`;
  window.tat.userMenu(document.getElementById('user-menu'));
  const why = await explain();
  if (why) {
    setState('not available', 'ended');
    errorEl.textContent = why;
    return;
  }
  const link = document.getElementById('profile-link');
  link.href = `/p/${encodeURIComponent(handle)}/`;
  link.hidden = false;
  follow();
}

void start();
