import type { Settings } from '../runtime/settings.ts';

/** Which `Host` values a listener answers (DNS rebinding: a page on another site whose name now resolves to
 *  127.0.0.1 sends its own name as `Host`). The host of PUBLIC_URL, localhost, 127.0.0.1 and [::1], and
 *  ALLOWED_HOSTS, on any port. Built once per process; the check runs on every request. */
export function hostCheck(settings: Pick<Settings, 'PUBLIC_URL' | 'ALLOWED_HOSTS'>): (host: string | undefined) => boolean {
  const allowed = new Set(['localhost', '127.0.0.1', '[::1]', new URL(settings.PUBLIC_URL).hostname.toLowerCase(), ...settings.ALLOWED_HOSTS.map((h) => h.toLowerCase())]);
  return (host) => {
    if (!host) return false;
    const name = host.startsWith('[') ? host.slice(0, host.indexOf(']') + 1) : host.split(':')[0]!;
    return allowed.has(name.toLowerCase());
  };
}

export const HOST_NOT_ALLOWED_MESSAGE =
  'this server does not answer for that host name: reach it at PUBLIC_URL, localhost or 127.0.0.1, or add the name to ALLOWED_HOSTS';
