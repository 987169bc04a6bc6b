/** The supervisor's sign-in cookie: it never leaves the supervisor (workers do not get it). */
export const SESSION_COOKIE = 'tat_session';

/** The token of an `Authorization: Bearer <token>` header, or null. */
export function bearerOf(header: string | undefined): string | null {
  const match = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(header ?? '');
  return match ? match[1]! : null;
}

/** A cookie's value from a `Cookie` header, or null (a value that is not valid percent-encoding is taken
 *  as it is). */
export function cookieOf(header: string | undefined, name: string): string | null {
  if (!header) return null;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq === -1 || part.slice(0, eq).trim() !== name) continue;
    const value = part.slice(eq + 1).trim();
    try {
      return decodeURIComponent(value);
    } catch {
      return value;
    }
  }
  return null;
}

/** A `Cookie` header without the named cookie (undefined when nothing is left). */
export function withoutCookie(header: string, name: string): string | undefined {
  const kept = header.split(';').filter((part) => {
    const eq = part.indexOf('=');
    return (eq === -1 ? part : part.slice(0, eq)).trim() !== name;
  });
  const text = kept.map((part) => part.trim()).filter(Boolean).join('; ');
  return text || undefined;
}
