// The admin page: people, their passwords, the profiles each may use, their API tokens.
import { api, byId as $, el, run, userMenu } from './client.js';

const enc = encodeURIComponent;

/** @param {{ name: string, admin: boolean, profiles: string[], tokens: { id: string, label: string }[] }} u */
function userRow(u) {
  const errorEl = el('p', { class: 'error', role: 'alert' });
  /** @param {string} label @param {() => Promise<string | null>} task @param {string} [cls] */
  const act = (label, task, cls) =>
    el('button', { type: 'button', class: cls, 'data-action': label.toLowerCase().replace(/\s+/g, '-'), onclick: (e) => run(e.currentTarget, errorEl, async () => {
      const message = await task();
      if (message) await load(message);
    }) }, label);
  /** @param {string} name @param {string} placeholder */
  const field = (name, placeholder, type = 'text') => el('input', { type, 'data-field': name, placeholder, autocomplete: type === 'password' ? 'new-password' : 'off', 'aria-label': `${placeholder} for ${u.name}` });
  const grant = field('grant', 'profile handle');
  const label = field('label', 'what the token is for');
  const password = field('password', 'new password', 'password');
  const profiles = u.profiles.map((h) =>
    el('span', { class: 'chip', 'data-profile': h }, h, ' ', act('Revoke', () => api('DELETE', `/supervisor/api/users/${enc(u.name)}/profiles/${enc(h)}`).then(() => `${u.name} may no longer use ${h}`))));
  const tokens = u.tokens.map((t) =>
    el('span', { class: 'chip', 'data-token': t.id }, `${t.label} (${t.id})`, ' ', act('Revoke token', () => api('DELETE', `/supervisor/api/users/${enc(u.name)}/tokens/${enc(t.id)}`).then(() => `token ${t.id} of ${u.name} revoked`))));
  return el('tr', { 'data-user': u.name },
    el('td', { 'data-label': 'Name' }, u.name, u.admin ? el('span', { class: 'hint' }, ' (admin)') : null),
    el('td', { 'data-label': 'Profiles' }, profiles.length ? profiles : el('span', { class: 'hint' }, u.admin ? 'all ' : 'none '),
      el('div', { class: 'row' }, grant, act('Grant', async () => {
        await api('POST', `/supervisor/api/users/${enc(u.name)}/profiles`, { handle: grant.value.trim() });
        return `${u.name} may now use ${grant.value.trim()}`;
      }))),
    el('td', { 'data-label': 'API tokens' }, tokens.length ? tokens : el('span', { class: 'hint' }, 'none '),
      el('div', { class: 'row' }, label, act('New token', async () => {
        const r = await api('POST', `/supervisor/api/users/${enc(u.name)}/tokens`, { label: label.value.trim() || 'token' });
        $('new-token').hidden = false;
        $('new-token-value').textContent = r.token;
        return `new token ${r.id} for ${u.name}: copy it now, it is shown once`;
      }))),
    el('td', { class: 'actions', 'data-label': 'Actions' },
      el('div', { class: 'row' }, password, act('Reset password', async () => {
        await api('POST', `/supervisor/api/users/${enc(u.name)}/password`, { password: password.value });
        return `password of ${u.name} changed; their sign-ins have ended`;
      })),
      act('Remove', async () => {
        if (!confirm(`Remove ${u.name}? Their sign-ins and tokens stop working at once.`)) return null;
        await api('DELETE', `/supervisor/api/users/${enc(u.name)}`);
        return `${u.name} removed`;
      }, 'danger'),
      errorEl));
}

/** @param {string} [message] */
async function load(message) {
  try {
    const { users } = await api('GET', '/supervisor/api/users');
    $('users').querySelector('tbody').replaceChildren(...users.map(userRow));
    $('users-error').textContent = '';
    $('users-ok').textContent = typeof message === 'string' ? message : '';
  } catch (error) {
    $('users-error').textContent = /** @type {Error} */ (error).message;
  }
}

$('add-form').addEventListener('submit', (event) => {
  event.preventDefault();
  run($('add-button'), $('add-error'), async () => {
    const name = $('add-name').value.trim().toLowerCase();
    const profiles = $('add-profiles').value.split(',').map((s) => s.trim()).filter(Boolean);
    await api('POST', '/supervisor/api/users', { name, password: $('add-password').value, admin: $('add-admin').checked, profiles });
    $('add-form').reset();
    await load(`added ${name}`);
    return `added ${name}`;
  }, $('add-ok'));
});

userMenu($('user-menu'));
load();
