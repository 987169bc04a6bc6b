// Where the sign-in page sends a person afterwards: an ES module, so that the page and the node tests use
// the very same code.

/**
 * `next` as an absolute URL on this site, read the way the browser itself reads a URL (tabs and newlines
 * dropped, backslashes taken for slashes, `.` and `..` resolved), or the site's root when it would lead
 * anywhere else (another host, `//host`, `javascript:`). The absolute form is what is followed, so that
 * even a path that normalises to `//host` stays on this site.
 * @param {unknown} value
 * @param {string} origin this site, as `location.origin`
 * @returns {string}
 */
export function safeNext(value, origin) {
  const home = new URL('/', origin).href;
  if (typeof value !== 'string' || value === '') return home;
  let url;
  try {
    url = new URL(value, home);
  } catch {
    return home;
  }
  return url.origin === new URL(origin).origin && (url.protocol === 'http:' || url.protocol === 'https:') ? url.href : home;
}
