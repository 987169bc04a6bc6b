// Small helpers both pages use: JSON calls with the API's error messages, and buttons that cannot be
// double-submitted while their action runs.
'use strict';

window.tat = (() => {
  async function api(method, url, body, headers = {}) {
    const init = { method, headers: { accept: 'application/json', ...headers } };
    if (body !== undefined) {
      if (typeof body === 'string' || body instanceof Blob) init.body = body;
      else {
        init.body = JSON.stringify(body);
        init.headers['content-type'] = 'application/json';
      }
    }
    let res;
    try {
      res = await fetch(url, init);
    } catch {
      throw Object.assign(new Error('The server cannot be reached. Is it running?'), { code: 'network' });
    }
    let data = null;
    try {
      data = await res.json();
    } catch {
      data = null;
    }
    if (!res.ok || (data && data.success === false)) {
      const message = (data && data.message) || `The server answered ${res.status}.`;
      throw Object.assign(new Error(message), { code: data && data.error, status: res.status, data });
    }
    return data;
  }

  /** Runs `task` with `button` disabled; shows errors in `errorEl` and `done` text in `okEl`. */
  async function run(button, errorEl, task, okEl) {
    if (button.disabled) return;
    const label = button.textContent;
    button.disabled = true;
    button.setAttribute('aria-busy', 'true');
    if (errorEl) errorEl.textContent = '';
    if (okEl) okEl.textContent = '';
    try {
      const result = await task();
      if (okEl && typeof result === 'string') okEl.textContent = result;
      return result;
    } catch (error) {
      if (errorEl) errorEl.textContent = error.message;
      else alert(error.message);
    } finally {
      button.disabled = false;
      button.removeAttribute('aria-busy');
      button.textContent = label;
    }
  }

  function el(tag, attrs = {}, ...children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs)) {
      if (v === undefined || v === null || v === false) continue;
      if (k === 'class') node.className = v;
      else if (k.startsWith('on')) node.addEventListener(k.slice(2), v);
      else node.setAttribute(k, v === true ? '' : String(v));
    }
    for (const child of children.flat()) {
      if (child === null || child === undefined || child === false) continue;
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  }

  function duration(ms) {
    if (ms == null) return '';
    const s = Math.floor(ms / 1000);
    if (s < 60) return `${s}s`;
    const m = Math.floor(s / 60);
    if (m < 60) return `${m}m ${s % 60}s`;
    const h = Math.floor(m / 60);
    return h < 48 ? `${h}h ${m % 60}m` : `${Math.floor(h / 24)}d ${h % 24}h`;
  }

  function bytes(n) {
    if (n == null) return '';
    return n > 1024 * 1024 ? `${(n / 1024 / 1024).toFixed(0)} MB` : `${(n / 1024).toFixed(0)} kB`;
  }

  /** Who is signed in, and "Sign out", in `into` (nothing with AUTH=none). `base`: the site's root, relative
   *  to the page (a profile's page lives two levels down). */
  async function userMenu(into, base = '/') {
    let me;
    try {
      me = await api('GET', `${base}auth/me`);
    } catch {
      return null;
    }
    if (me.auth === 'none' || !me.username) return me;
    into.replaceChildren(
      'signed in as ', el('b', { 'data-testid': 'signed-in-as' }, me.username), me.admin ? ' (admin) · ' : ' · ',
      me.admin ? el('a', { href: `${base}admin` }, 'People') : null, me.admin ? ' · ' : null,
      el('button', { type: 'button', class: 'link', 'data-action': 'sign-out', onclick: async () => {
        await api('POST', `${base}auth/logout`).catch(() => {});
        location.assign(`${base}login`);
      } }, 'Sign out'));
    return me;
  }

  /** Puts `nodes` in `parent`, keeping every child that did not change: a button is not replaced under a
   *  person's click, nor a focused control under their typing. */
  function patch(parent, nodes) {
    const shown = [...parent.children];
    if (shown.length !== nodes.length) return parent.replaceChildren(...nodes);
    nodes.forEach((node, i) => {
      if (shown[i].outerHTML !== node.outerHTML) shown[i].replaceWith(node);
    });
  }

  return { api, run, el, duration, bytes, userMenu, patch };
})();
