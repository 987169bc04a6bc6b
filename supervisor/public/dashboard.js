'use strict';
// The supervisor's dashboard: every profile's worker, live (polled), with its actions.

const { api, run, el, duration, bytes } = window.tat;
const tbody = document.querySelector('#workers tbody');
const listError = document.getElementById('list-error');
const logsShown = new Map(); // handle → lines, for errored workers

function authHeaders() {
  const token = sessionStorage.getItem('supervisorToken');
  return token ? { authorization: `Bearer ${token}` } : {};
}

async function act(method, url, body) {
  try {
    return await api(method, url, body, authHeaders());
  } catch (error) {
    if (error.status === 401 || error.status === 403) document.getElementById('token-card').hidden = false;
    throw error;
  }
}

function stateLabel(w) {
  if (w.state === 'draining') return w.draining_for === 'recycle' ? 'recycling' : 'stopping';
  return w.state;
}

// Per row, kept across the periodic re-render (rows are rebuilt every poll): the action running (the row's
// buttons stay disabled, the running one aria-busy) and the last error (shown until the row's next action).
const rowUi = new Map();
function uiOf(name) {
  if (!rowUi.has(name)) rowUi.set(name, { busy: null, error: '' });
  return rowUi.get(name);
}
const anyBusy = () => [...rowUi.values()].some((u) => u.busy !== null);

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
    await refresh(true);
  }
}

/** Who is signed in (`/auth/me`); with sign-in, "current" is the person's own: where their /api goes. */
let me = null;
const ownCurrent = () => me && me.auth !== 'none';
const isCurrent = (w) => (ownCurrent() ? w.handle !== null && w.handle === me.current : w.is_current);

function row(w) {
  const handle = w.handle;
  const name = handle ?? '(setup)';
  const state = stateLabel(w);
  const u = uiOf(name);
  const err = el('p', { class: 'error', role: 'alert' }, u.error);
  const button = (label, task, cls) => {
    const action = label.toLowerCase().replace(/\s+/g, '-');
    return el('button', {
      type: 'button', class: cls, 'data-action': action, disabled: u.busy !== null, 'aria-busy': u.busy === action ? 'true' : null,
      onclick: () => rowAction(name, action, task),
    }, label);
  };
  // A recycle closes the profile's Chrome: say so before, not after (it is opened again by the restore).
  const closesChrome = (what) =>
    !w.browser_open || confirm(`${what} closes the Chrome of "${handle}" (logged into the MIS). It is opened and logged in again right after, and its CSV and spreadsheet come back.`);
  const actions = handle
    ? [
        button('Restart', async () => {
          if (closesChrome('Restarting')) await act('POST', `/supervisor/api/workers/${handle}/restart`);
        }),
        w.state === 'stopped' || w.state === 'idle'
          ? button('Start', () => act('POST', `/supervisor/api/workers/${handle}/start`))
          : button('Stop', () => act('POST', `/supervisor/api/workers/${handle}/stop`)),
        isCurrent(w) ? null : button('Make current', async () => {
          if (ownCurrent()) {
            // With sign-in, only the person's own /api moves: no worker restarts.
            await act('POST', '/api/profile/switch', { handle });
            me = await window.tat.userMenu(document.getElementById('user-menu'));
          } else if (closesChrome('Making it current restarts its worker, which')) {
            await act('POST', '/supervisor/api/current', { handle });
          }
        }),
        button('Delete', async () => {
          if (!confirm(`Delete the profile "${handle}"? Its token is removed; its credentials and MIS settings files are kept.`)) return;
          await act('DELETE', `/supervisor/api/profiles/${handle}`);
        }, 'danger'),
      ]
    : [];
  const problem = w.state === 'errored' || w.problem
    ? el('div', { class: 'error' },
        w.last_exit ? `Last exit: code ${w.last_exit.code ?? '–'}${w.last_exit.signal ? `, signal ${w.last_exit.signal}` : ''} (${w.last_exit.reason})` : '',
        w.problem ? ` · ${w.problem.message}` : '',
        logsShown.get(handle) ? el('pre', { class: 'log' }, logsShown.get(handle).join('\n')) : null)
    : null;
  return el('tr', { 'data-handle': name, 'data-state': state },
    el('td', { 'data-label': 'Profile' },
      el('span', { class: isCurrent(w) ? 'current' : '' }, isCurrent(w) ? '★ ' : '', handle ? el('a', { href: `/p/${handle}/` }, name) : name),
      pendingNote(w), restoreNote(w), problem),
    el('td', { 'data-label': 'State' }, el('span', { class: `badge state-${state}`, 'data-testid': 'state' }, state)),
    el('td', { 'data-label': 'PID' }, w.pid ?? ''),
    el('td', { 'data-label': 'Up' }, duration(w.uptime_ms)),
    el('td', { 'data-label': 'Restarts' }, String(w.restarts)),
    el('td', { 'data-label': 'Memory' }, bytes(w.rss_bytes)),
    el('td', { 'data-label': 'Direct URL' }, w.direct_url ? el('a', { href: w.direct_url }, w.direct_url.replace(/\/$/, '')) : ''),
    el('td', { class: 'actions', 'data-label': 'Actions' }, actions, handle ? el('a', { href: `/p/${handle}/`, class: 'hint' }, ' settings') : null, err));
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

async function loadLogs(handles) {
  for (const handle of handles) {
    if (logsShown.has(handle)) continue;
    try {
      const { lines } = await api('GET', `/supervisor/api/workers/${handle}/logs?lines=8`);
      logsShown.set(handle, lines.map((l) => l.msg ?? JSON.stringify(l)));
    } catch {
      logsShown.set(handle, []);
    }
  }
}

let lastData = null;
function render() {
  if (lastData) tbody.replaceChildren(...lastData.workers.map(row));
}

let refreshing = null;
/** Reloads the list; `fresh`: data fetched after this call (not an answer already on its way). */
function refresh(fresh = false) {
  if (refreshing && fresh) return refreshing.then(() => refresh());
  refreshing ??= (async () => {
    try {
      const data = await api('GET', '/supervisor/api/workers');
      const errored = data.workers.filter((w) => w.state === 'errored' && w.handle).map((w) => w.handle);
      for (const h of [...logsShown.keys()]) if (!errored.includes(h)) logsShown.delete(h);
      await loadLogs(errored);
      lastData = data;
      render();
      document.getElementById('first-run').hidden = !data.first_run;
      const ready = data.workers.filter((w) => w.state === 'ready').length;
      document.getElementById('summary').textContent = data.first_run
        ? 'first run: no profile yet'
        : `${data.workers.length} profile${data.workers.length === 1 ? '' : 's'}, ${ready} ready · current: ${(ownCurrent() ? me.current : data.current) ?? 'none'}`;
      listError.textContent = '';
    } catch (error) {
      // A sign-in that ended (expired, password changed) leads back to the sign-in page.
      if (error.status === 401 && ownCurrent()) location.assign(`/login?next=${encodeURIComponent(location.pathname)}`);
      listError.textContent = error.message;
    } finally {
      refreshing = null;
    }
  })();
  return refreshing;
}

document.getElementById('register-form').addEventListener('submit', (event) => {
  event.preventDefault();
  const input = document.getElementById('register-handle');
  const handle = input.value.trim().toLowerCase();
  const errorEl = document.getElementById('register-error');
  run(document.getElementById('register-button'), errorEl, async () => {
    try {
      const result = await api('POST', '/api/profile/register', { handle });
      await refresh(true);
      return `Registered "${result.handle}". Its worker is starting; open its settings at ${result.url}.`;
    } catch (error) {
      if (error.code === 'credentials_not_found' && error.data?.expected_path) {
        document.getElementById('expected-path').textContent = `config/${error.data.expected_path}`;
        throw new Error(`${error.message}\nExpected file: config/${error.data.expected_path}`);
      }
      throw error;
    }
  }, document.getElementById('register-ok'));
});

document.getElementById('token-form').addEventListener('submit', (event) => {
  event.preventDefault();
  sessionStorage.setItem('supervisorToken', document.getElementById('token').value);
  document.getElementById('token').value = '';
  document.getElementById('token-card').hidden = true;
});

// Every second; faster while a row action runs, so its states (recycling, starting) show as they happen.
window.tat.userMenu(document.getElementById('user-menu')).then((who) => {
  me = who;
  render();
});
(function poll() {
  const next = () => setTimeout(poll, anyBusy() ? 250 : 1000);
  if (document.hidden) next();
  else refresh().finally(next);
})();
