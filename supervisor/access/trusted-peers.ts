import { BlockList, isIPv4, isIPv6 } from 'node:net';

/** The peers whose `AUTH_PROXY_HEADER` is believed (TRUSTED_PROXIES: addresses or CIDR ranges). */
export function trustedPeers(entries: readonly string[]): (address: string | undefined) => boolean {
  const list = new BlockList();
  for (const entry of entries) {
    const [base, bits] = entry.split('/');
    const type = isIPv6(base!) ? 'ipv6' : 'ipv4';
    if (!isIPv4(base!) && !isIPv6(base!)) throw new Error(`TRUSTED_PROXIES: "${entry}" is not an address or a CIDR range`);
    if (bits === undefined) list.addAddress(base!, type);
    else list.addSubnet(base!, Number(bits), type);
  }
  return (address) => {
    if (!address) return false;
    const v4 = address.startsWith('::ffff:') ? address.slice(7) : address;
    return isIPv4(v4) ? list.check(v4, 'ipv4') : list.check(address, 'ipv6');
  };
}
