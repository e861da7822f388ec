// Server-side request forgery guard for webhook URLs. A URL names a host; what matters is the address a connection
// reaches, so the check runs on every address the name resolves to, at registration and again on every send, and
// the connection is made to the address that passed (a second lookup could answer differently: DNS rebinding).
import { lookup } from 'node:dns/promises';
import { BlockList, isIP } from 'node:net';

export interface AddressPolicy {
  /** http:// URLs too (PULSE_WEBHOOK_ALLOW_HTTP); https only otherwise. */
  allowHttp: boolean;
  /** Loopback, private and other non-public addresses too (PULSE_WEBHOOK_ALLOW_PRIVATE). */
  allowPrivate: boolean;
}

/** Ranges no webhook may reach unless allowed: loopback, private, link-local, shared, documentation, multicast, reserved. */
const NON_PUBLIC = new BlockList();
for (const [network, prefix] of [
  ['0.0.0.0', 8],
  ['10.0.0.0', 8],
  ['100.64.0.0', 10],
  ['127.0.0.0', 8],
  ['169.254.0.0', 16],
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.0.2.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['198.51.100.0', 24],
  ['203.0.113.0', 24],
  ['224.0.0.0', 4],
  ['240.0.0.0', 4],
] as const) {
  NON_PUBLIC.addSubnet(network, prefix, 'ipv4');
}
for (const [network, prefix] of [
  ['::', 128],
  ['::1', 128],
  ['64:ff9b::', 96],
  ['100::', 64],
  ['2001:db8::', 32],
  ['fc00::', 7],
  ['fe80::', 10],
  ['ff00::', 8],
] as const) {
  NON_PUBLIC.addSubnet(network, prefix, 'ipv6');
}

/** Whether an IP address is one anybody on the internet could reach. An IPv4-mapped IPv6 address is its IPv4. */
export function isPublicAddress(address: string): boolean {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped) return isPublicAddress(mapped[1]);
  const family = isIP(address);
  if (family === 0) return false;
  return !NON_PUBLIC.check(address, family === 4 ? 'ipv4' : 'ipv6');
}

/** What is wrong with a URL as a webhook endpoint before any lookup, or null. */
export function urlProblem(raw: string, policy: AddressPolicy): string | null {
  if (raw.length > 2048) return 'must be at most 2048 characters';
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return 'must be an absolute URL';
  }
  if (url.protocol !== 'https:' && !(policy.allowHttp && url.protocol === 'http:')) {
    return policy.allowHttp ? 'must be an http or https URL' : 'must be an https URL (http only with PULSE_WEBHOOK_ALLOW_HTTP=true)';
  }
  if (url.username || url.password) return 'must not carry credentials';
  return null;
}

export interface CheckedAddress {
  address: string;
  family: 4 | 6;
}

/** Refused: the URL's host reaches an address it may not. */
export class AddressRefused extends Error {}

/** Resolves the URL's host and checks every address it has; the first, to connect to, or AddressRefused. */
export async function resolveChecked(url: URL, policy: AddressPolicy): Promise<CheckedAddress> {
  const host = url.hostname.replace(/^\[|\]$/g, '');
  const found = isIP(host) ? [{ address: host, family: isIP(host) }] : await lookup(host, { all: true, verbatim: true });
  if (found.length === 0) throw new AddressRefused(`host ${host} has no address`);
  if (!policy.allowPrivate) {
    const refused = found.find((entry) => !isPublicAddress(entry.address));
    if (refused) throw new AddressRefused(`address ${refused.address} is not public (PULSE_WEBHOOK_ALLOW_PRIVATE=true allows it)`);
  }
  return { address: found[0].address, family: found[0].family === 6 ? 6 : 4 };
}
