import type { IncomingMessage } from 'node:http';
import { isIP, isIPv4 } from 'node:net';

/** Where a request comes from, as access decisions and the sign-in limits see it. */
export interface Client {
  /** The client's address: the socket's peer, or — when that peer is a trusted proxy — the address the
   *  proxy put in `X-Forwarded-For`. */
  address: string;
  /** The request comes from this machine itself, and no proxy forwarded it for someone else. */
  loopback: boolean;
}

/** 127.0.0.0/8, ::1 and their IPv4-mapped forms. */
export function isLoopbackAddress(address: string | undefined): boolean {
  if (!address) return false;
  const v4 = address.startsWith('::ffff:') ? address.slice(7) : address;
  return (isIPv4(v4) && v4.startsWith('127.')) || address === '::1';
}

/** Headers a proxy adds when it forwards someone else's request. */
const FORWARDING = ['x-forwarded-for', 'forwarded', 'x-real-ip'];

/** The client of a request (README, "Letting colleagues in"): behind a trusted proxy, loopback is not
 *  trust — a same-machine nginx forwards everyone's requests from 127.0.0.1, so such a request is judged by
 *  the address the proxy says it came from, reading `X-Forwarded-For` from the right and skipping the
 *  trusted proxies in it. A request that carries forwarding headers the supervisor cannot read or does not
 *  believe is never taken for this machine's own. */
export function clientOf(req: IncomingMessage, trusted: (address: string | undefined) => boolean): Client {
  const peer = req.socket.remoteAddress ?? '';
  const headers = req.headers;
  const forwarded = FORWARDING.some((name) => headers[name] !== undefined);
  if (!forwarded) return { address: peer, loopback: isLoopbackAddress(peer) };
  const xff = headers['x-forwarded-for'];
  if (!trusted(peer) || xff === undefined) return { address: peer, loopback: false };
  const hops = (Array.isArray(xff) ? xff.join(',') : xff).split(',').map((hop) => hop.trim());
  for (let i = hops.length - 1; i >= 0; i--) {
    const hop = hops[i]!;
    if (!isIP(hop)) return { address: hop.slice(0, 64) || 'unknown', loopback: false };
    if (i === 0 || !trusted(hop)) return { address: hop, loopback: isLoopbackAddress(hop) };
  }
  return { address: peer, loopback: false };
}
