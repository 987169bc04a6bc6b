// The supervisor's dashboard: every profile's worker, live (Server-Sent Events from /supervisor/api/events:
// each change, a start's every stage, as it happens), with its actions.
import { api, byId, el, patch, userMenu } from './client.js';
import { followEvents } from './event-stream.js';
import { bytes, duration, elapsedText } from './format.js';
import { confirmClosesChrome, confirmDelete } from './profile-actions.js';
import { registerForm } from './register-form.js';

const tbody = document.querySelector('#workers tbody');
const listError = byId('list-error');
const logsShown = new Map(); // handle → readable lines, for errored workers

function authHeaders() {
  const token = sessionStorage.getItem('supervisorToken');
  return token ? { authorization: `Bearer ${token}` } : {};
}

async function act(method, url, body) {
  try {
    return await api(method, url, body, authHeaders());
  } catch (error) {
    if (error.status === 401 || error.status === 403) byId('token-card').hidden = false;
    throw error;
  }
}

function stateLabel(w) {
  if (w.state === 'draining') return w.draining_for === 'recycle' ? 'recycling' : 'stopping';
  return w.state;
}

// Per row, kept across re-renders (a row is rebuilt when it changes): the action running (the row's
// buttons stay disabled, the running one aria-busy) and the last error (shown until the row's next action).
const rowUi = new Map();
function uiOf(name) {
  if (!rowUi.has(name)) rowUi.set(name, { busy: null, error: '' });
  return rowUi.get(name);
}

async function rowAction(name, action, task) {
  const u = uiOf(name);
  if (u.busy) return;
  u.busy = action;
  u.error = '';
  render();
  try {
    await task();
  } catch (error) {
    u.error = error.message;
  } finally {
    u.busy = null;
    await refresh();
  }
}

/** Who is signed in (`/auth/me`); with sign-in, "current" is the person's own: where their /api goes.
 *  @type {any} */
let me = null;
const ownCurrent = () => me && me.auth !== 'none';
const isCurrent = (w) => (ownCurrent() ? w.handle !== null && w.handle === me.current : w.is_current);

/** A start, stop or backoff under way: its stage, how long so far, and the most it takes. */
function stageNote(w) {
  if (!w.stage || !['starting', 'draining', 'backoff'].includes(w.state)) return null;
  return el('p', { class: 'work', 'data-testid': 'stage', 'data-stage': w.stage.text },
    el('span', { class: 'stage' }, w.stage.text),
    el('span', { class: 'elapsed', 'data-since': w.stage.started_at, 'data-limit': w.stage.limit_ms }));
}

function row(w) {
  const handle = w.handle;
  const name = handle ?? '(setup)';
  const state = stateLabel(w);
  const u = uiOf(name);
  const err = el('p', { class: 'error', role: 'alert' }, u.error);
  const button = (label, task, cls, action = label.toLowerCase().replace(/\s+/g, '-')) =>
    el('button', {
      type: 'button', class: cls, 'data-action': action, disabled: u.busy !== null, 'aria-busy': u.busy === action ? 'true' : null,
      onclick: () => rowAction(name, action, task),
    }, label);
  // A recycle closes the profile's Chrome: say so before, not after (it is opened again by the restore).
  /** @param {string} what */
  const closesChrome = (what) => !w.browser_open || confirmClosesChrome(handle, what, true);
  const starting = w.state === 'starting' || w.state === 'backoff';
  const actions = handle
    ? [
        button('Restart', async () => {
          if (closesChrome('Restarting')) await act('POST', `/supervisor/api/workers/${handle}/restart`);
        }),
        w.state === 'stopped' || w.state === 'idle'
          ? button('Start', () => act('POST', `/supervisor/api/workers/${handle}/start`))
          : button(starting ? 'Cancel start' : 'Stop', () => act('POST', `/supervisor/api/workers/${handle}/stop`), null, 'stop'),
        isCurrent(w) ? null : button('Make current', async () => {
          if (ownCurrent()) {
            // With sign-in, only the person's own /api moves: no worker restarts.
            await act('POST', '/api/profile/switch', { handle });
            me = await userMenu(byId('user-menu'));
          } else if (closesChrome('Making it current restarts its worker, which')) {
            await act('POST', '/supervisor/api/current', { handle });
          }
        }),
        button('Delete', async () => {
          if (!confirmDelete(handle)) return;
          await act('DELETE', `/supervisor/api/profiles/${handle}`);
        }, 'danger'),
        el('a', { href: `/logs?handle=${handle}`, 'data-action': 'logs' }, 'Logs'),
        el('a', { href: `/p/${handle}/`, 'data-action': 'settings' }, 'Settings'),
      ]
    : [];
  return el('tr', { 'data-handle': name, 'data-state': state, 'data-browser-open': w.browser_open ? 'true' : null },
    el('td', { 'data-label': 'Profile' },
      el('span', { class: isCurrent(w) ? 'current' : '' }, isCurrent(w) ? '★ ' : '', handle ? el('a', { href: `/p/${handle}/` }, name) : name),
      stageNote(w), pendingNote(w), restoreNote(w), portNote(w)),
    el('td', { 'data-label': 'State' }, el('span', { class: `badge state-${state}`, 'data-testid': 'state' }, state),
      w.version === 'older' ? el('span', { class: 'badge older', 'data-testid': 'older', title: 'Started by an earlier supervisor with another build or other settings' }, ' older version') : null),
    el('td', { 'data-label': 'PID' }, w.pid ?? ''),
    el('td', { 'data-label': 'Up', 'data-since': w.started_at ? Date.parse(w.started_at) : null }),
    el('td', { 'data-label': 'Restarts' }, String(w.restarts)),
    el('td', { 'data-label': 'Memory' }),
    // Only while its process runs: otherwise the port may belong to another program.
    el('td', { 'data-label': 'Direct URL' }, w.direct_url && w.pid ? el('a', { href: w.direct_url }, w.direct_url.replace(/\/$/, '')) : ''),
    el('td', { class: 'actions', 'data-label': 'Actions' }, actions, err));
}

/** Below the row of a worker that gave up: why, and its last lines (a row of its own, the full width). */
function problemRow(w) {
  if (w.state !== 'errored' && !w.problem) return null;
  const exit = w.last_exit;
  const lines = logsShown.get(w.handle) ?? [];
  return el('tr', { class: 'problem-row', 'data-problem-for': w.handle ?? '(setup)' },
    el('td', { colspan: '8' },
      el('div', { class: 'error' },
        exit ? `Last exit: ${exit.summary} at ${new Date(exit.at).toLocaleTimeString()}` : '',
        w.problem ? `${exit ? ' · ' : ''}${w.problem.message}` : ''),
      lines.length ? el('ol', { class: 'log-lines' }, lines.map((l) => el('li', { class: `level-${l.level}` }, el('time', { datetime: l.at }, l.at ? new Date(l.at).toLocaleTimeString() : ''), ' ', el('b', {}, l.level), ` ${l.text}`, l.count > 1 ? el('span', { class: 'repeat' }, ` ×${l.count}`) : null))) : null,
      w.handle ? el('a', { href: `/logs?handle=${w.handle}` }, 'All its logs') : null));
}

/** A recycle that waits for the work in progress to end. */
function pendingNote(w) {
  if (!w.pending) return null;
  const until = new Date(w.pending.until).toLocaleTimeString();
  return el('p', { class: 'hint', 'data-testid': 'pending' }, `Restart pending: waiting for ${w.pending.waiting_for.join(', ')} to finish (at the latest ${until})`);
}

/** What the worker brought back after its start, and what it could not. */
function restoreNote(w) {
  if (!w.restore) return null;
  if (w.restore.state === 'restoring') return el('p', { class: 'hint', 'data-testid': 'restore' }, 'Restoring its work after the restart…');
  if (w.restore.failed.length === 0) return el('p', { class: 'hint', 'data-testid': 'restore' }, 'Its work came back after the restart.');
  return el('p', { class: 'error', 'data-testid': 'restore' }, `Could not come back after the restart: ${w.restore.failed.join(', ')} — `, el('a', { href: `/p/${w.handle}/` }, 'see its page'));
}

/** Its saved port was taken by another program, so it moved to another one. */
function portNote(w) {
  if (!w.port_moved) return null;
  return el('p', { class: 'hint', 'data-testid': 'port-moved' }, w.port_moved.message);
}

/** The last lines of an errored worker, made readable by the supervisor (time, level, message, repeats
 *  counted), as the landing pages show them. */
async function loadLogs(handles) {
  for (const handle of handles) {
    if (logsShown.has(handle)) continue;
    try {
      const { lines } = await api('GET', `/supervisor/api/workers/${handle}/logs?lines=40&format=readable`);
      logsShown.set(handle, lines.slice(-8));
    } catch {
      logsShown.set(handle, []);
    }
  }
}

let lastData = null;
let clockSkew = 0;
/** Uptimes and the elapsed times of stages under way, from the times their elements carry. */
function showElapsed() {
  const now = Date.now() + clockSkew;
  for (const cell of tbody.querySelectorAll('td[data-label="Up"][data-since]')) if (cell instanceof HTMLElement) cell.textContent = duration(now - Number(cell.dataset.since));
  for (const span of tbody.querySelectorAll('.elapsed[data-since]')) if (span instanceof HTMLElement) span.textContent = elapsedText(Number(span.dataset.since), Number(span.dataset.limit), now);
}

function render() {
  if (!lastData) return;
  // The texts that move on their own (uptimes, elapsed times, memory) are blanked before the rows are
  // compared and written after: a row, and a button under a person's click, is rebuilt only when something
  // else of it changed.
  for (const node of tbody.querySelectorAll('[data-since], td[data-label="Memory"]')) node.textContent = '';
  patch(tbody, lastData.workers.flatMap((w) => [row(w), problemRow(w)]).filter(Boolean));
  for (const w of lastData.workers) {
    const cell = tbody.querySelector(`tr[data-handle="${CSS.escape(w.handle ?? '(setup)')}"] td[data-label="Memory"]`);
    if (cell) cell.textContent = bytes(w.rss_bytes);
  }
  showElapsed();
  const older = lastData.workers.filter((w) => w.version === 'older').length;
  byId('upgrade-banner').hidden = older === 0;
  byId('upgrade-text').textContent = `${older} worker${older === 1 ? '' : 's'} still run${older === 1 ? 's' : ''} an older version (started before this supervisor's upgrade or settings change). Moving restarts each one, one at a time, once its work has ended; its work comes back by itself.`;
}

/** A new list of workers (from the event stream, or fetched after an action). */
async function show(data) {
  const errored = data.workers.filter((w) => w.state === 'errored' && w.handle).map((w) => w.handle);
  for (const h of [...logsShown.keys()]) if (!errored.includes(h)) logsShown.delete(h);
  await loadLogs(errored);
  lastData = data;
  render();
  const firstRun = data.first_run;
  byId('first-run').hidden = !firstRun;
  byId('register-title').hidden = firstRun;
  const card = byId('register-card');
  if (firstRun && card.previousElementSibling) card.parentElement.prepend(card);
  const ready = data.workers.filter((w) => w.state === 'ready').length;
  byId('summary').textContent = firstRun
    ? 'first run: no profile yet'
    : `${data.workers.length} profile${data.workers.length === 1 ? '' : 's'}, ${ready} ready · current: ${(ownCurrent() ? me.current : data.current) ?? 'none'}`;
  listError.textContent = '';
}

/** The supervisor cannot be reached: say so, and stop showing states that may no longer be true. */
function unreachable(message) {
  lastData = null;
  tbody.replaceChildren(el('tr', { class: 'unknown' }, el('td', { colspan: '8' }, 'Unknown while the supervisor cannot be reached.')));
  byId('summary').textContent = 'supervisor unreachable';
  listError.textContent = `${message} The list comes back by itself when it answers again.`;
}

/** Fetches the list now (after an action: its answer, without waiting for the next event). */
async function refresh() {
  try {
    await show(await api('GET', '/supervisor/api/workers'));
  } catch (error) {
    // A sign-in that ended (expired, password changed) leads back to the sign-in page.
    if (error.status === 401 && ownCurrent()) location.assign(`/login?next=${encodeURIComponent(location.pathname)}`);
    else if (error.code === 'network') unreachable('The supervisor cannot be reached (stopped, or the network is down).');
    else listError.textContent = error.message;
  }
}

registerForm({
  apiBase: '/api/',
  onRegistered: async (result) => {
    await refresh();
    return `Registered "${result.handle}": its worker is starting, and the guide's /api/… now goes to it. Its page: ${result.url}`;
  },
});

byId('upgrade-button').addEventListener('click', async () => {
  const button = byId('upgrade-button');
  button.disabled = true;
  try {
    await act('POST', '/supervisor/api/workers/upgrade');
    await refresh();
  } catch (error) {
    listError.textContent = error.message;
  } finally {
    button.disabled = false;
  }
});

byId('token-form').addEventListener('submit', (/** @type {SubmitEvent} */ event) => {
  event.preventDefault();
  sessionStorage.setItem('supervisorToken', byId('token').value);
  byId('token').value = '';
  byId('token-card').hidden = true;
});

userMenu(byId('user-menu')).then((who) => {
  me = who;
  render();
});

// Live: a snapshot at every change. While the stream is down the browser reconnects by itself; meanwhile the
// page says the supervisor cannot be reached (a request tells whether it is the supervisor or only the
// stream, and a sign-in that ended leads to /login), rather than showing what may be stale.
followEvents('/supervisor/api/events', {
  events: {
    workers: (text) => {
      const data = JSON.parse(text);
      clockSkew = data.at - Date.now();
      void show(data);
    },
  },
  onDown: () => void refresh(),
});
// Uptimes and the elapsed times of stages under way move on between events: only those texts change, so
// that a button is never replaced under a person's click.
setInterval(showElapsed, 500);
