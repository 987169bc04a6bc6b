// One profile's settings page. Every URL is relative, so the page works under /p/<handle>/ and alone. What
// the worker is doing (Chrome starting, the MIS sign-in, a CSV pull, a Google sign-in) comes from its event
// stream as it happens: the page shows the stage, the time it has run and the most it can take, with Cancel.
import { api, byId as $, el, run, userMenu } from './client.js';
import { followEvents } from './event-stream.js';
import { elapsedText } from './format.js';
import { showProfiles } from './profile-list.js';
import { registerForm } from './register-form.js';

/** This page's own path (`/p/<handle>/`, or `/` alone): hints name the profile's own URLs. */
const BASE = location.pathname.replace(/[^/]*$/, '');
/** @type {any} */
let me = null;
/** Where the guide's unprefixed /api/… goes (the current profile), as far as this page can tell. */
let apiTarget = null;

function needsProfile(enabled) {
  for (const id of ['google-section', 'credentials-section', 'session-section']) $(id).hidden = !enabled;
}

function fileLine(file, missingText) {
  if (file.state === 'ok') return el('span', { 'data-state': 'ok' }, 'present: ', el('code', {}, file.file));
  if (file.state === 'missing') return el('span', { 'data-state': 'missing' }, `${missingText}: `, el('code', {}, file.file));
  return el('span', { 'data-state': 'damaged', class: 'bad' }, 'damaged: ', el('code', {}, file.file));
}

/** A damaged file: its name, what is wrong, and the fix. */
function problemBox(title, file) {
  return el('div', { class: 'problem', role: 'alert', 'data-file': file.file },
    el('b', {}, title), ' ', el('code', {}, file.file), ` cannot be read: ${file.reason}.`, el('br'), `Fix: ${file.fix}.`);
}

async function loadProfile() {
  me = await api('GET', 'api/profile/current');
  $('title-handle').textContent = me.handle ?? 'first run';
  document.title = `TAT-MIS · ${me.handle ?? 'first run'}`;
  $('current-handle').textContent = me.handle ? `${me.handle} (this page)` : 'none yet: register a profile below';
  needsProfile(Boolean(me.handle));
  if (!me.handle) {
    $('current-creds').textContent = '–';
    $('current-blaze').textContent = '–';
    return;
  }
  me.files = await api('GET', 'api/profile/files');
  const { credentials, token, blaze_config: blaze } = me.files;
  $('current-creds').replaceChildren(fileLine(credentials, 'missing'));
  $('current-blaze').replaceChildren(fileLine(blaze, 'not saved yet'));
  $('file-problems').replaceChildren(...[
    credentials.state === 'damaged' ? problemBox('The Google credentials file', credentials) : null,
    credentials.state === 'missing' ? el('p', { class: 'problem', role: 'alert' }, `No Google credentials file: ${credentials.fix}.`) : null,
    token.state === 'damaged' ? problemBox('The token file', token) : null,
    blaze.state === 'damaged' ? problemBox('The MIS / Blaze settings file', blaze) : null,
  ].filter(Boolean));
  $('title-sub').textContent = me.authenticated ? 'Google connected' : 'Google not connected';
  const connect = $('google-connect');
  if (credentials.state !== 'ok') {
    $('google-state').textContent = `Google cannot be connected until the credentials file is in place: ${credentials.fix}.`;
    connect.textContent = 'Connect Google';
    connect.disabled = true;
  } else {
    if (token.state === 'damaged') $('google-state').textContent = `The token file is damaged (${token.reason}): connect Google again to write a new one.`;
    else if (me.authenticated) $('google-state').textContent = 'Connected. Reconnect if Google says the token has expired or was revoked.';
    else $('google-state').textContent = 'Not connected yet: connect to let this profile read its Google Sheets.';
    connect.textContent = token.state === 'damaged' ? 'Connect Google again' : me.authenticated ? 'Reconnect Google' : 'Connect Google';
    connect.disabled = connectingGoogle();
  }
  $('google-hint').replaceChildren("Opens Google's sign-in in a new tab; this page follows it and says when the account is connected. From a script: ", el('code', {}, `POST ${BASE}api/auth/google`), '.');
}

/** Where the guide's /api/… goes: the person's own current profile with sign-in, the supervisor's current
 *  profile without, this profile when the worker runs alone. */
async function loadApiTarget() {
  const root = BASE.replace(/p\/[^/]+\/$/, '');
  const who = await api('GET', `${root}auth/me`).catch(() => null);
  if (who && who.auth !== 'none') apiTarget = who.current;
  else {
    const sup = await api('GET', `${root}supervisor/api/workers`).catch(() => null);
    apiTarget = sup ? sup.current : me?.handle ?? null;
  }
  $('api-target').replaceChildren(
    !me?.handle ? 'the setup page (first run)'
      : apiTarget === me.handle ? el('span', { class: 'current', 'data-testid': 'api-here' }, '★ goes to this profile')
        : apiTarget ? el('span', { 'data-testid': 'api-elsewhere' }, 'goes to ', el('a', { href: `${root}p/${apiTarget}/` }, apiTarget), ` (use "Make current" to point it here; this profile's own API is `, el('code', {}, `${BASE}api/…`), ')')
          : 'goes to no profile yet');
}

/** The Profile section's list, with the current profile as this page knows it. */
function loadProfiles() {
  return showProfiles({
    apiTarget,
    onChanged: async () => {
      await loadApiTarget();
      await loadProfiles();
    },
  });
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
  $('mis_url').placeholder = c.effective_mis_url ?? '';
  $('mis_url-in-use').textContent = c.effective_mis_url ? `In use: ${c.effective_mis_url}${c.mis_url ? '' : " (the server's MIS_URL)"}` : 'No MIS URL: set one here or MIS_URL on the server.';
  $('blaze_api_url-in-use').textContent = c.effective_blaze_api_url ? `In use: ${c.effective_blaze_api_url}${c.blaze_api_url ? '' : " (the server's default)"}` : '';
  if (!$('sheet-url').value && c.google_sheet_url) $('sheet-url').value = c.google_sheet_url;
  // A damaged file reads as empty: saving the form would replace it. Only a replacement on purpose does.
  const damaged = c.file?.state === 'damaged';
  $('credentials-fields').disabled = damaged;
  $('blaze-problem').replaceChildren(...[
    damaged
      ? el('div', { class: 'problem', role: 'alert', 'data-file': c.file.file },
          el('b', {}, 'These settings cannot be read: '), el('code', {}, c.file.file), ` is damaged (${c.file.reason}). The form stays locked so that saving cannot overwrite it.`, el('br'),
          `Fix: ${c.file.fix}.`, el('br'),
          el('button', { type: 'button', class: 'danger', id: 'blaze-replace', onclick: (e) => run(e.currentTarget, $('credentials-error'), async () => {
            if (!confirm('Replace the damaged settings file with an empty one? The damaged file is kept next to it.')) return;
            const r = await api('POST', 'api/blaze-config/replace-damaged');
            await Promise.all([loadProfile(), loadCredentials()]);
            return r.message;
          }, $('credentials-ok')) }, 'Replace the damaged file'))
      : null,
  ].filter(Boolean));
}

function describeBrowser(s) {
  if (!s || s.state === 'not started') return s?.last_crash ? `stopped: Chrome crashed at ${new Date(s.last_crash).toLocaleTimeString()}; it starts again with the next action` : 'not started';
  if (s.state === 'starting') return 'starting Chrome…';
  if (s.state === 'closing') return 'closing Chrome…';
  const base = `running (pid ${s.instance?.pid ?? '?'})`;
  if (!s.mis) return `${base}, not signed into the MIS`;
  if (s.mis.state === 'signing-in') return `${base}, signing into the MIS at ${s.mis.url}…`;
  if (s.mis.state === 'logged-in') return `${base}, logged into the MIS at ${s.mis.url}`;
  return `${base}, not signed into the MIS: the last sign-in failed (${s.mis.error})`;
}

function showBrowser(status) {
  $('browser-state').textContent = describeBrowser(status);
  $('browser-state').dataset.state = status?.state ?? 'not started';
}

async function loadSession() {
  if (!me?.handle) return;
  const [status, health] = await Promise.all([api('GET', 'api/browser-status'), api('GET', 'healthz')]);
  showRestore(health.restore);
  showBrowser(status);
  try {
    showCsv(await api('GET', 'api/mis/csv'));
  } catch (error) {
    if (error.status !== 404) throw error;
  }
  try {
    showSheet(await api('GET', 'api/sheets'));
  } catch (error) {
    if (error.status !== 404) throw error;
  }
  for (const id of ['init-all', 'pull-csv', 'browser-close', 'upload-button', 'sheet-load']) $(id).disabled = false;
}

function showCsv(csv) {
  $('csv-state').textContent = `${csv.file}: ${csv.row_count} rows, ${csv.columns.length} columns`;
  $('csv-preview').replaceChildren(
    el('h3', {}, `Preview: the first ${Math.min(csv.first_rows.length, csv.row_count)} of ${csv.row_count} rows of ${csv.file}`),
    el('div', { class: 'scroll-x' },
      el('table', { class: 'csv' },
        el('thead', {}, el('tr', {}, csv.columns.map((c) => el('th', {}, c)))),
        el('tbody', {}, csv.first_rows.map((r) => el('tr', {}, r.map((v) => el('td', {}, v))))))),
  );
}

function showSheet(sheet) {
  $('sheet-state').textContent = `${sheet.title || sheet.spreadsheet_id}: ${sheet.tabs.map((t) => t.title).join(', ')}`;
}

// ——— work under way, as the worker reports it ———

/** Running (and just ended) work by id; the server's clock minus ours, from the events' `at`. */
const works = new Map();
let clockSkew = 0;

/** One element per piece of work, kept while it runs: its stage and time are updated in place, so that its
 *  Cancel button is never replaced under a click. */
const workNodes = new Map();

function workNode(w, list, now) {
  let entry = workNodes.get(w.id);
  if (!entry) {
    const stage = el('span', { class: 'stage', 'data-testid': 'stage' });
    const elapsed = el('span', { class: 'elapsed' });
    const cancel = w.cancellable
      ? el('button', { type: 'button', class: 'cancel', 'data-action': 'cancel', onclick: (e) => run(e.currentTarget, list.parentElement.querySelector('.error'), async () => {
          await api('POST', 'api/work/cancel', { id: w.id });
        }) }, 'Cancel')
      : null;
    entry = { node: el('div', { class: 'work', 'data-work': w.name, role: 'status' }, el('b', {}, w.title), ': ', stage, elapsed, cancel), stage, elapsed };
    workNodes.set(w.id, entry);
  }
  const stageText = `${w.stage}${w.attempt ? ` (attempt ${w.attempt.n} of ${w.attempt.of})` : ''}`;
  if (entry.stage.textContent !== stageText) entry.stage.textContent = stageText;
  entry.node.dataset.stage = w.stage;
  entry.elapsed.textContent = elapsedText(w.started_at, w.limit_ms, now);
  return entry.node;
}

function renderWork() {
  const now = Date.now() + clockSkew;
  for (const list of /** @type {NodeListOf<HTMLElement>} */ (document.querySelectorAll('.work-list'))) {
    const names = list.dataset.for.split(' ');
    const nodes = [...works.values()].filter((w) => names.includes(w.name) && w.state === 'running').map((w) => workNode(w, list, now));
    const shown = [...list.children];
    if (shown.length !== nodes.length || shown.some((n, i) => n !== nodes[i])) list.replaceChildren(...nodes);
  }
  for (const id of workNodes.keys()) if (!works.has(id)) workNodes.delete(id);
}

function onWork(view) {
  works.set(view.id, view);
  if (view.state !== 'running') {
    works.delete(view.id);
    if (view.name === 'google-connect') onGoogleEnded(view);
  }
  $('google-connect').disabled = connectingGoogle() || me?.files?.credentials.state !== 'ok';
  renderWork();
}

function connectingGoogle() {
  return [...works.values()].some((w) => w.name === 'google-connect' && w.state === 'running');
}

function onGoogleEnded(view) {
  if (view.state === 'done') $('google-ok').textContent = view.message;
  else $('google-error').textContent = view.message;
  loadProfile().catch(() => {});
}

setInterval(() => {
  if (works.size > 0) renderWork();
}, 500);

/** A long action: its stage comes from the worker (above); here only its answer. */
function longAction(button, task) {
  return run(button, $('session-error'), async () => {
    try {
      return await task();
    } finally {
      await loadSession().catch(() => {});
    }
  }, $('session-ok'));
}

registerForm({
  apiBase: 'api/',
  onRegistered: async (result) => {
    await Promise.all([loadProfiles(), loadApiTarget()]);
    return result.message;
  },
});

$('google-connect').addEventListener('click', (event) =>
  run(event.currentTarget, $('google-error'), async () => {
    $('google-ok').textContent = '';
    const { auth_url } = await api('POST', 'api/auth/google');
    window.open(auth_url, '_blank', 'noopener');
    return undefined;
  }));

$('credentials-form').addEventListener('submit', (event) => {
  event.preventDefault();
  const body = {};
  for (const field of ['mis_username', 'blaze_email', 'blaze_api_url', 'mis_url', 'google_sheet_url']) body[field] = $(field).value.trim();
  for (const field of ['mis_password', 'blaze_password']) if ($(field).value) body[field] = $(field).value;
  run($('credentials-save'), $('credentials-error'), async () => {
    await api('POST', 'api/save-profile-credentials', body);
    await Promise.all([loadCredentials(), loadProfile()]);
    return 'Saved.';
  }, $('credentials-ok'));
});

$('init-all').addEventListener('click', (e) => longAction(e.currentTarget, async () => {
  const r = await api('POST', 'api/init-all');
  return r.mis_login === 'already_logged_in' ? 'Browser ready; the MIS session was still logged in.' : 'Browser ready and logged into the MIS.';
}));
$('pull-csv').addEventListener('click', (e) => longAction(e.currentTarget, async () => {
  const r = await api('POST', 'api/mis/pull-csv');
  showCsv(r);
  return `Loaded ${r.file} (${r.row_count} rows).`;
}));
$('browser-close').addEventListener('click', (e) => longAction(e.currentTarget, async () => {
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
    await loadApiTarget();
    await Promise.all([loadProfiles(), loadCredentials(), loadSession()]);
    $('page-error').textContent = '';
  } catch (error) {
    $('page-error').textContent = `This page could not load everything: ${error.message}`;
  } finally {
    document.body.dataset.loaded = 'true'; // the forms and buttons are usable from here on
  }
}

refreshAll();
// Where /api goes can change from another tab or person: look again whenever the page is looked at again.
document.addEventListener('visibilitychange', () => {
  if (document.hidden) return;
  loadApiTarget().then(loadProfiles).catch(() => {});
});
// Under the supervisor with sign-in: who is signed in (the page is two levels below the site's root).
userMenu($('user-menu'), BASE.replace(/p\/[^/]+\/$/, ''));
// The worker says what happens as it happens (Chrome starting or gone, work and its stages, the restore
// after a restart, a Google account connected).
let reload = null;
/** @param {string} data */
const stamp = (data) => {
  const event = JSON.parse(data);
  clockSkew = event.at - Date.now();
  return event;
};
// `status` comes first on every connection; after the first (the page has just loaded everything), it means
// the worker restarted: load its state again.
let connections = 0;
followEvents('api/events', {
  events: {
    restore: (data) => showRestore(stamp(data)),
    browser: (data) => showBrowser(stamp(data)),
    work: (data) => onWork(stamp(data)),
    google: () => loadProfile().then(() => {
      $('google-ok').textContent = 'Google account connected.';
    }).catch(() => {}),
    status: (data) => {
      const status = stamp(data);
      works.clear();
      for (const view of status.work) works.set(view.id, view);
      renderWork();
      if (status.browser) showBrowser(status.browser);
      $('page-error').textContent = '';
      if (connections++ > 0) refreshAll();
    },
    automation: () => {
      clearTimeout(reload);
      reload = setTimeout(() => loadSession().catch(() => {}), 200);
    },
  },
  onDown: () => {
    $('page-error').textContent = "This profile's worker cannot be reached right now (it may be restarting); the page catches up when it is back.";
  },
});
