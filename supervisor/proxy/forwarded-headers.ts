import type { IncomingMessage } from 'node:http';
import type { TLSSocket } from 'node:tls';
import { SESSION_COOKIE, withoutCookie } from '../../shared/http/request-credentials.ts';

/** Hop-by-hop headers (RFC 9110 §7.6.1) belong to one connection and are never forwarded. */
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'te', 'trailer', 'transfer-encoding', 'upgrade']);
/** Besides those, of a request: `expect` is answered by the supervisor's own server (100 Continue), the
 *  `x-forwarded-*` ones are rewritten below. */
const NOT_FORWARDED = new Set([
  ...HOP_BY_HOP,
  'proxy-authorization',
  'expect',
  'x-forwarded-prefix',
  'x-forwarded-for',
  'x-forwarded-port',
  'x-forwarded-proto',
  'x-forwarded-host',
]);

/** What a worker never gets of a client's request: the client's credentials for the supervisor (its
 *  `Authorization` header, the sign-in proxy's header) — the supervisor tells the worker who is asking in
 *  headers of its own (`x-tat-*`, a client's copies dropped too). The `tat_session` cookie is taken out of
 *  `Cookie` for the same reason. */
const CREDENTIALS = new Set(['authorization']);

/** The headers a worker gets, as a flat [name, value, …] list: the client's end-to-end headers (without its
 *  credentials for the supervisor), then `X-Forwarded-For/-Port/-Proto` (appended to what an earlier proxy
 *  said), `X-Forwarded-Host` (an earlier proxy's, else `Host`) and `X-Forwarded-Prefix` (the route prefix the
 *  worker was reached under; none for `/api/…`). `scheme`: `http` for requests, `ws` for WebSocket upgrades.
 *  `proxyHeader`: the sign-in proxy's header (AUTH_PROXY_HEADER, lower case). */
export function forwardedHeaders(req: IncomingMessage, prefix: string, proxyHeader: string, scheme: 'http' | 'ws' = 'http'): string[] {
  const raw = req.rawHeaders;
  const listed = connectionTokens(req.headers.connection);
  const out: string[] = [];
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!.toLowerCase();
    // `x-tat-*` are the supervisor's own (who is asking): never a client's copy.
    if (NOT_FORWARDED.has(name) || CREDENTIALS.has(name) || name === proxyHeader || name.startsWith('x-tat-') || (listed && listed.has(name))) continue;
    if (name === 'cookie') {
      const kept = withoutCookie(raw[i + 1]!, SESSION_COOKIE);
      if (kept) out.push(raw[i]!, kept);
      continue;
    }
    out.push(raw[i]!, raw[i + 1]!);
  }
  const h = req.headers;
  const encrypted = Boolean((req.socket as TLSSocket).encrypted);
  const port = /:(\d+)$/.exec(h.host ?? '')?.[1] ?? (encrypted ? '443' : '80');
  out.push('x-forwarded-for', append(h['x-forwarded-for'], req.socket.remoteAddress ?? ''));
  out.push('x-forwarded-port', append(h['x-forwarded-port'], port));
  out.push('x-forwarded-proto', append(h['x-forwarded-proto'], encrypted ? `${scheme}s` : scheme));
  out.push('x-forwarded-host', single(h['x-forwarded-host']) || (h.host ?? ''));
  if (prefix) out.push('x-forwarded-prefix', prefix);
  return out;
}

/** The headers of a WebSocket upgrade as the worker gets them: the same as a request's, plus the
 *  handshake's own `Connection: Upgrade` and `Upgrade`. */
export function upgradeHeaders(req: IncomingMessage, prefix: string, proxyHeader: string, extra: string[]): Record<string, string> {
  const list = [...forwardedHeaders(req, prefix, proxyHeader, 'ws'), ...extra];
  const out: Record<string, string> = {};
  for (let i = 0; i < list.length; i += 2) {
    const name = list[i]!.toLowerCase();
    out[name] = name in out ? `${out[name]}${name === 'cookie' ? '; ' : ', '}${list[i + 1]}` : list[i + 1]!;
  }
  out.connection = 'Upgrade';
  out.upgrade = single(req.headers.upgrade);
  return out;
}

/** A worker's response headers as the client gets them: without the hop-by-hop ones of that connection
 *  (the supervisor's server frames the body itself). */
export function responseHeaders(headers: Record<string, string | string[] | undefined>): Record<string, string | string[]> {
  const listed = connectionTokens(headers.connection);
  const out: Record<string, string | string[]> = {};
  for (const name in headers) {
    const value = headers[name];
    if (value === undefined || HOP_BY_HOP.has(name) || (listed && listed.has(name))) continue;
    out[name] = value;
  }
  return out;
}

/** Header names a `Connection` header lists (they are hop-by-hop too). */
function connectionTokens(value: string | string[] | undefined): Set<string> | null {
  if (value === undefined) return null;
  const names = (Array.isArray(value) ? value.join(',') : value).split(',').map((t) => t.trim().toLowerCase());
  return names.some((n) => n !== 'keep-alive' && n !== 'close' && n !== 'upgrade') ? new Set(names) : null;
}

function append(previous: string | string[] | undefined, value: string): string {
  const before = single(previous);
  return before ? `${before},${value}` : value;
}

function single(value: string | string[] | undefined): string {
  return Array.isArray(value) ? value.join(',') : (value ?? '');
}
