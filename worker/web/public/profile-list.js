// The Settings tab's Profile section (the guide's "Settings tab → Profile section → Register"): every profile
// this person may use and what can be done with it. The dashboard lists the same profiles as workers (their
// processes); both take their confirmations from profile-actions.js and their data from the same config dir.
import { api, byId as $, el, patch, run } from './client.js';
import { confirmClosesChrome, confirmDelete } from './profile-actions.js';

/**
 * The profiles this person may use (`GET api/profiles`), each with the guide's actions: register one whose
 * credentials file is there, make one current, delete one that is not this page's.
 * @param {{ apiTarget: string | null, onChanged: () => Promise<void> }} options
 */
export async function showProfiles({ apiTarget, onChanged }) {
  const { profiles } = await api('GET', 'api/profiles');
  const errorEl = $('profiles-error');
  const okEl = $('profiles-ok');
  const after = async (message) => {
    await onChanged();
    return message;
  };
  patch($('profiles').querySelector('tbody'),
    profiles.map((p) => {
      const current = p.handle === apiTarget;
      const actions = [];
      if (!p.registered) {
        actions.push(el('button', { type: 'button', 'data-action': 'register', onclick: (e) => run(e.currentTarget, errorEl, async () => {
          const r = await api('POST', 'api/profile/register', { handle: p.handle });
          return after(r.message);
        }, okEl) }, 'Register'));
      } else {
        if (!p.is_active) actions.push(el('a', { href: `../${p.handle}/`, 'data-action': 'open' }, 'Open'));
        if (!current) {
          actions.push(el('button', { type: 'button', 'data-action': 'switch', title: `Make the guide's /api/… go to ${p.handle}`, onclick: (e) => run(e.currentTarget, errorEl, async () => {
            if (!(await switchClosesChromeConfirmed(p.handle))) return;
            const r = await api('POST', 'api/profile/switch', { handle: p.handle });
            return after(r.message);
          }, okEl) }, 'Make current'));
        }
        if (!p.is_active) {
          actions.push(el('button', { type: 'button', class: 'danger', 'data-action': 'delete', onclick: (e) => run(e.currentTarget, errorEl, async () => {
            if (!confirmDelete(p.handle)) return;
            const r = await api('POST', 'api/profile/delete', { handle: p.handle });
            return after(r.message);
          }, okEl) }, 'Delete'));
        }
      }
      return el('tr', { 'data-handle': p.handle, 'data-current': current ? 'true' : null },
        el('td', {}, current ? el('span', { class: 'current', title: "the guide's /api/… goes here" }, '★ ') : null,
          p.is_active ? el('b', {}, `${p.handle} (this profile)`) : p.handle),
        el('td', {}, !p.registered ? 'credentials only: not registered yet' : p.authenticated ? 'connected' : 'not connected'),
        el('td', { class: 'actions' }, actions));
    }),
  );
}

/** A switch restarts the target's worker, which closes its Chrome: say so before (the restore opens it again). */
async function switchClosesChromeConfirmed(handle) {
  const status = await api('GET', `../${handle}/api/browser-status`).catch(() => null);
  if (!status?.ready) return true;
  return confirmClosesChrome(handle, 'Making it current restarts its worker, which', status.mis_logged_in);
}
