// What every page uses: JSON calls with the API's error messages, buttons that cannot be double-submitted
// while their action runs, elements built in one call, and rows patched only where they changed.

/** An element by id, for a page that knows its own markup. @param {string} id @returns {any} */
export function byId(id) {
  return document.getElementById(id);
}

/**
 * A JSON call; a failed one throws an Error with the API's message, `code`, `status` and `data`.
 * @param {string} method
 * @param {string} url
 * @param {unknown} [body] JSON, or a string or Blob sent as it is
 * @param {Record<string, string>} [headers]
 * @returns {Promise<any>}
 */
export async function api(method, url, body, headers = {}) {
  /** @type {RequestInit & { headers: Record<string, string> }} */
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
  /** @type {any} */
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

/**
 * Runs `task` with `button` disabled; shows its error in `errorEl` and a text it returns in `okEl`.
 * @template T
 * @param {HTMLButtonElement} button
 * @param {HTMLElement | null} errorEl
 * @param {() => Promise<T>} task
 * @param {HTMLElement} [okEl]
 * @returns {Promise<T | undefined>}
 */
export async function run(button, errorEl, task, okEl) {
  if (button.disabled) return undefined;
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
    const message = error instanceof Error ? error.message : String(error);
    if (errorEl) errorEl.textContent = message;
    else alert(message);
    return undefined;
  } finally {
    button.disabled = false;
    button.removeAttribute('aria-busy');
    button.textContent = label;
  }
}

/** @typedef {Node | string | number | null | undefined | false | Child[]} Child */

/**
 * An element with attributes (`on…`: listeners; false, null and undefined: left out) and children.
 * @template {keyof HTMLElementTagNameMap} K
 * @param {K} tag
 * @param {Record<string, any>} [attrs]
 * @param {...Child} children
 * @returns {HTMLElementTagNameMap[K]}
 */
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'class') node.className = v;
    else if (k.startsWith('on')) node.addEventListener(k.slice(2), v);
    else node.setAttribute(k, v === true ? '' : String(v));
  }
  for (const child of /** @type {any[]} */ (children).flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

/**
 * Puts `nodes` in `parent`, keeping every child that did not change: a button is not replaced under a
 * person's click, nor a focused control under their typing.
 * @param {Element} parent
 * @param {Element[]} nodes
 */
export function patch(parent, nodes) {
  // A shown child is kept wherever an identical one is wanted, even when rows were added or removed
  // around it (a problem row appearing under another worker must not replace this one).
  /** @type {Map<string, Element[]>} */
  const unused = new Map();
  for (const child of parent.children) unused.set(child.outerHTML, [...(unused.get(child.outerHTML) ?? []), child]);
  const wanted = nodes.map((node) => unused.get(node.outerHTML)?.shift() ?? node);
  for (const left of unused.values()) for (const child of left) child.remove();
  wanted.forEach((node, i) => {
    if (parent.children[i] !== node) parent.insertBefore(node, parent.children[i] ?? null);
  });
}

/**
 * Who is signed in, and "Sign out", in `into` (nothing with AUTH=none). `base`: the site's root, relative to
 * the page (a profile's page lives two levels down).
 * @param {HTMLElement} into
 * @param {string} [base]
 * @returns {Promise<any>} what /auth/me answered, or null
 */
export async function userMenu(into, base = '/') {
  let me;
  try {
    me = await api('GET', `${base}auth/me`);
  } catch {
    return null;
  }
  if (me.auth === 'none' || !me.username) return me;
  into.replaceChildren(
    'signed in as ', el('b', { 'data-testid': 'signed-in-as' }, me.username), me.admin ? ' (admin) · ' : ' · ',
    me.admin ? el('a', { href: `${base}admin` }, 'People') : '', me.admin ? ' · ' : '',
    el('button', { type: 'button', class: 'link', 'data-action': 'sign-out', onclick: async () => {
      await api('POST', `${base}auth/logout`).catch(() => {});
      location.assign(`${base}login`);
    } }, 'Sign out'));
  return me;
}
