'use strict';
// One profile's settings page. Every URL is relative, so the page works under /p/<handle>/ and alone.

const { api, run, el } = window.tat;
const $ = (id) => document.getElementById(id);
let me = null;

function needsProfile(enabled) {
  for (const id of ['google-section', 'credentials-section', 'session-section']) $(id).hidden = !enabled;
}

async function loadProfile() {
  me = await api('GET', 'api/profile/current');
  $('title-handle').textContent = me.handle ?? 'first run';
  $('current-handle').textContent = me.handle ?? 'none yet: register a profile below';
  $('current-creds').textContent = me.handle ? (me.has_credentials ? 'present' : 'missing') : '–';
  $('title-sub').textContent = me.handle ? (me.authenticated ? 'Google connected' : 'Google not connected') : '';
  $('google-state').textContent = me.authenticated
    ? 'Connected. Reconnect if Google says the token has expired or was revoked.'
    : 'Not connected yet: connect to let this profile read its Google Sheets.';
  $('google-connect').textContent = me.authenticated ? 'Reconnect Google' : 'Connect Google';
  needsProfile(Boolean(me.handle));
}

async function loadProfiles() {
  const { profiles } = await api('GET', 'api/profiles');
  const errorEl = $('profiles-error');
  $('profiles').querySelector('tbody').replaceChildren(
    ...profiles.map((p) =>
      el('tr', { 'data-handle': p.handle },
        el('td', {}, p.is_active ? el('b', {}, `${p.handle} (this page)`) : el('a', { href: `../${p.handle}/` }, p.handle)),
        el('td', {}, !p.registered ? 'credentials only' : p.authenticated ? 'connected' : 'not connected'),
        el('td', { class: 'actions' },
          p.registered && !p.is_active
            ? [
                el('button', { type: 'button', 'data-action': 'switch', onclick: (e) => run(e.currentTarget, errorEl, async () => {
                  if (!(await switchClosesChromeConfirmed(p.handle))) return;
                  const r = await api('POST', 'api/profile/switch', { handle: p.handle });
                  return r.message;
                }, $('profiles-ok')) }, 'Make current'),
                ' ',
                el('button', { type: 'button', class: 'danger', 'data-action': 'delete', onclick: (e) => run(e.currentTarget, errorEl, async () => {
                  if (!confirm(`Delete the profile "${p.handle}"? Its token is removed; credentials and MIS settings are kept.`)) return;
                  const r = await api('POST', 'api/profile/delete', { handle: p.handle });
                  await loadProfiles();
                  return r.message;
                }, $('profiles-ok')) }, 'Delete'),
              ]
            : null),
      )),
  );
}

/** A switch restarts the target's worker, which closes its Chrome: say so before (the restore opens it again). */
async function switchClosesChromeConfirmed(handle) {
  const status = await api('GET', `../${handle}/api/browser-status`).catch(() => null);
  if (!status?.ready) return true;
  return confirm(`Making "${handle}" current restarts its worker: its Chrome${status.mis_logged_in ? ' (logged into the MIS)' : ''} closes, and is opened and logged in again right after; its CSV and spreadsheet come back.`);
}

/** What the last restart brought back, and what it could not (with the reason and the fix). */
function showRestore(restore) {
  const box = $('restore-state');
  if (!restore) {
    box.replaceChildren();
    return;
  }
  const names = { csv: 'MIS CSV', spreadsheet: 'spreadsheet', browser: 'Chrome and the MIS login' };
  const pieces = Object.entries(restore.pieces).map(([name, piece]) =>
    el('li', { 'data-piece': name, 'data-state': piece.state, class: piece.state === 'failed' ? 'error' : '' },
      `${names[name] ?? name}: `,
      piece.state === 'restoring' ? 'coming back…' : piece.state === 'restored' ? `back (${piece.detail})` : `could not come back: ${piece.reason}. ${piece.fix}.`));
  box.replaceChildren(
    el('p', { class: 'hint' }, restore.state === 'restoring' ? 'This profile restarted: bringing its work back…' : 'This profile restarted; its work after the restart:'),
    el('ul', { class: 'restore' }, ...pieces));
}

async function loadCredentials() {
  if (!me?.handle) return;
  const c = await api('GET', 'api/get-credentials');
  for (const field of ['mis_username', 'blaze_email', 'blaze_api_url', 'mis_url', 'google_sheet_url']) $(field).value = c[field] ?? '';
  for (const field of ['mis_password', 'blaze_password']) {
    $(field).value = '';
    $(field).placeholder = c[`${field}_set`] ? 'saved' : 'not set';
  }
  if (!$('sheet-url').value && c.google_sheet_url) $('sheet-url').value = c.google_sheet_url;
}

async function loadSession() {
  if (!me?.handle) return;
  const [status, health] = await Promise.all([api('GET', 'api/browser-status'), api('GET', 'healthz')]);
  showRestore(health.restore);
  $('browser-state').textContent = status.ready
    ? `running (pid ${status.instance?.pid ?? '?'})${status.mis_logged_in ? ', logged into the MIS' : ''}${status.automation ? `, busy: ${status.automation}` : ''}`
    : status.last_crash ? `stopped (Chrome crashed at ${status.last_crash})` : 'not started';
  try {
    const csv = await api('GET', 'api/mis/csv');
    showCsv(csv);
  } catch (error) {
    if (error.status !== 404) throw error;
  }
  try {
    const { value } = await api('GET', 'api/session/spreadsheet');
    showSheet(value);
  } catch (error) {
    if (error.status !== 404) throw error;
  }
}

function showCsv(csv) {
  $('csv-state').textContent = `${csv.file}: ${csv.row_count} rows, ${csv.columns.length} columns`;
  $('csv-preview').replaceChildren(
    el('table', { class: 'csv' },
      el('thead', {}, el('tr', {}, csv.columns.map((c) => el('th', {}, c)))),
      el('tbody', {}, csv.first_rows.map((r) => el('tr', {}, r.map((v) => el('td', {}, v)))))),
  );
}

function showSheet(sheet) {
  $('sheet-state').textContent = `${sheet.title || sheet.spreadsheet_id}: ${sheet.tabs.map((t) => t.title).join(', ')}`;
}

/** A long action: elapsed seconds shown while it runs; the button cannot be pressed twice. */
function longAction(button, label, task) {
  const progress = $('session-progress');
  const started = Date.now();
  const tick = setInterval(() => {
    progress.textContent = `${label}… ${Math.round((Date.now() - started) / 1000)} s`;
  }, 250);
  progress.textContent = `${label}…`;
  return run(button, $('session-error'), async () => {
    try {
      return await task();
    } finally {
      clearInterval(tick);
      progress.textContent = '';
      await loadSession().catch(() => {});
    }
  }, $('session-ok'));
}

$('register-form').addEventListener('submit', (event) => {
  event.preventDefault();
  const handle = $('register-handle').value.trim().toLowerCase();
  run($('register-button'), $('register-error'), async () => {
    try {
      const r = await api('POST', 'api/profile/register', { handle });
      $('register-handle').value = '';
      await loadProfiles();
      return `Registered "${r.handle}". Its page: ${r.url}`;
    } catch (error) {
      if (error.code === 'credentials_not_found' && error.data?.expected_path) {
        throw new Error(`${error.message}\nPut the file at: config/${error.data.expected_path}`);
      }
      throw error;
    }
  }, $('register-ok'));
});

$('google-connect').addEventListener('click', (event) =>
  run(event.currentTarget, $('google-error'), async () => {
    const { auth_url } = await api('POST', 'api/auth/google');
    window.open(auth_url, '_blank', 'noopener');
    return 'Google sign-in opened in a new tab. This page updates when it is done.';
  }, $('google-ok')));

$('credentials-form').addEventListener('submit', (event) => {
  event.preventDefault();
  const body = {};
  for (const field of ['mis_username', 'blaze_email', 'blaze_api_url', 'mis_url', 'google_sheet_url']) body[field] = $(field).value.trim();
  for (const field of ['mis_password', 'blaze_password']) if ($(field).value) body[field] = $(field).value;
  run($('credentials-save'), $('credentials-error'), async () => {
    await api('POST', 'api/save-profile-credentials', body);
    await loadCredentials();
    return 'Saved.';
  }, $('credentials-ok'));
});

$('init-all').addEventListener('click', (e) => longAction(e.currentTarget, 'Starting Chrome and logging into the MIS', async () => {
  const r = await api('POST', 'api/init-all');
  return r.mis_login === 'already_logged_in' ? 'Browser ready; the MIS session was still logged in.' : 'Browser ready and logged into the MIS.';
}));
$('pull-csv').addEventListener('click', (e) => longAction(e.currentTarget, 'Pulling the MIS CSV', async () => {
  const r = await api('POST', 'api/mis/pull-csv');
  return `Loaded ${r.file} (${r.row_count} rows).`;
}));
$('browser-close').addEventListener('click', (e) => longAction(e.currentTarget, 'Closing the browser', async () => {
  await api('POST', 'api/browser/close');
  return 'Browser closed.';
}));

$('upload-form').addEventListener('submit', (event) => {
  event.preventDefault();
  const file = $('csv-file').files[0];
  if (!file) return;
  run($('upload-button'), $('upload-error'), async () => {
    const r = await api('POST', 'api/mis/upload-csv', file, { 'content-type': 'text/csv' });
    showCsv(r);
    return undefined;
  });
});

$('sheet-form').addEventListener('submit', (event) => {
  event.preventDefault();
  run($('sheet-load'), $('sheet-error'), async () => {
    const value = $('sheet-url').value.trim();
    const r = await api('POST', 'api/mis/load-sheet', /^https?:/.test(value) ? { url: value } : { spreadsheet_id: value });
    showSheet(r);
  });
});

async function refreshAll() {
  try {
    await loadProfile();
    await Promise.all([loadProfiles(), loadCredentials(), loadSession()]);
  } catch (error) {
    $('profiles-error').textContent = error.message;
  }
}

refreshAll();
// Under the supervisor with sign-in: who is signed in (the page is two levels below the site's root).
window.tat.userMenu($('user-menu'), '../../');
// The worker says what happens as it happens (the restore after a restart, Chrome started or gone).
const events = new EventSource('api/events');
let reload = null;
events.addEventListener('restore', (e) => showRestore(JSON.parse(e.data)));
// `status` comes first on every connection; after the first (the page has just loaded everything), it means
// the worker restarted: load its state again.
let connections = 0;
events.addEventListener('status', () => {
  if (connections++ > 0) loadSession().catch(() => {});
});
for (const type of ['browser', 'automation', 'restore']) {
  events.addEventListener(type, () => {
    clearTimeout(reload);
    reload = setTimeout(() => loadSession().catch(() => {}), 200);
  });
}
// The Google tab finishes elsewhere: notice the new connection when this tab is looked at again.
document.addEventListener('visibilitychange', () => {
  if (!document.hidden) loadProfile().catch(() => {});
});
