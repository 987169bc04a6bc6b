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

function row(w) {
  const handle = w.handle;
  const name = handle ?? '(setup)';
  const state = stateLabel(w);
  const err = el('p', { class: 'error', role: 'alert' });
  const button = (label, onclick, cls) => el('button', { type: 'button', class: cls, 'data-action': label.toLowerCase().replace(/\s+/g, '-'), onclick: (e) => run(e.currentTarget, err, onclick) }, label);
  const actions = handle
    ? [
        button('Restart', () => act('POST', `/supervisor/api/workers/${handle}/restart`).then(refresh)),
        w.state === 'stopped'
          ? button('Start', () => act('POST', `/supervisor/api/workers/${handle}/start`).then(refresh))
          : button('Stop', () => act('POST', `/supervisor/api/workers/${handle}/stop`).then(refresh)),
        w.is_current ? null : button('Make current', () => act('POST', '/supervisor/api/current', { handle }).then(refresh)),
        button('Delete', async () => {
          if (!confirm(`Delete the profile "${handle}"? Its token is removed; its credentials and MIS settings files are kept.`)) return;
          await act('DELETE', `/supervisor/api/profiles/${handle}`);
          await refresh();
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
      el('span', { class: w.is_current ? 'current' : '' }, w.is_current ? '★ ' : '', handle ? el('a', { href: `/p/${handle}/` }, name) : name),
      problem),
    el('td', { 'data-label': 'State' }, el('span', { class: `badge state-${state}`, 'data-testid': 'state' }, state)),
    el('td', { 'data-label': 'PID' }, w.pid ?? ''),
    el('td', { 'data-label': 'Up' }, duration(w.uptime_ms)),
    el('td', { 'data-label': 'Restarts' }, String(w.restarts)),
    el('td', { 'data-label': 'Memory' }, bytes(w.rss_bytes)),
    el('td', { 'data-label': 'Direct URL' }, w.direct_url ? el('a', { href: w.direct_url }, w.direct_url.replace(/\/$/, '')) : ''),
    el('td', { class: 'actions', 'data-label': 'Actions' }, actions, handle ? el('a', { href: `/p/${handle}/`, class: 'hint' }, ' settings') : null, err));
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

let refreshing = null;
async function refresh() {
  refreshing ??= (async () => {
    try {
      const data = await api('GET', '/supervisor/api/workers');
      const errored = data.workers.filter((w) => w.state === 'errored' && w.handle).map((w) => w.handle);
      for (const h of [...logsShown.keys()]) if (!errored.includes(h)) logsShown.delete(h);
      await loadLogs(errored);
      tbody.replaceChildren(...data.workers.map(row));
      document.getElementById('first-run').hidden = !data.first_run;
      const ready = data.workers.filter((w) => w.state === 'ready').length;
      document.getElementById('summary').textContent = data.first_run
        ? 'first run: no profile yet'
        : `${data.workers.length} profile${data.workers.length === 1 ? '' : 's'}, ${ready} ready · current: ${data.current ?? 'none'}`;
      listError.textContent = '';
    } catch (error) {
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
      await refresh();
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

refresh();
setInterval(() => {
  if (!document.hidden) refresh();
}, 1000);
