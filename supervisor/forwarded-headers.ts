import type { IncomingMessage } from 'node:http';
import type { TLSSocket } from 'node:tls';

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

/** The headers a worker gets, as a flat [name, value, …] list: the client's end-to-end headers, then
 *  `X-Forwarded-For/-Port/-Proto` (appended to what an earlier proxy said), `X-Forwarded-Host` (an earlier
 *  proxy's, else `Host`) and `X-Forwarded-Prefix` (the route prefix the worker was reached under; none for
 *  `/api/…`). `scheme`: `http` for requests, `ws` for WebSocket upgrades. */
export function forwardedHeaders(req: IncomingMessage, prefix: string, scheme: 'http' | 'ws' = 'http'): string[] {
  const raw = req.rawHeaders;
  const listed = connectionTokens(req.headers.connection);
  const out: string[] = [];
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!.toLowerCase();
    // `x-tat-*` are the supervisor's own (who is asking): never a client's copy.
    if (NOT_FORWARDED.has(name) || name.startsWith('x-tat-') || (listed && listed.has(name))) continue;
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
