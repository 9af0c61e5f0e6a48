// Where a webhook may point: http(s) only, and never at loopback, private, link-local or other
// special ranges (the gateway's own network) unless WEBHOOK_ALLOW_PRIVATE=1. Checked when the
// webhook is created (every address the host resolves to) and again at every delivery, on the
// address the request actually connects to (a DNS answer that changes cannot walk around it).
import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { BlockList, isIP, type LookupFunction } from 'node:net';

/** The error code of a delivery refused at connection time (a network error's code, not a userErrors code). */
export const ADDRESS_REFUSED = 'WEBHOOK_ADDRESS_REFUSED';

const blocked = new BlockList();
for (const [net, prefix] of [
  ['0.0.0.0', 8], ['10.0.0.0', 8], ['100.64.0.0', 10], ['127.0.0.0', 8], ['169.254.0.0', 16], ['172.16.0.0', 12],
  ['192.0.0.0', 24], ['192.0.2.0', 24], ['192.88.99.0', 24], ['192.168.0.0', 16], ['198.18.0.0', 15], ['198.51.100.0', 24],
  ['203.0.113.0', 24], ['224.0.0.0', 4], ['240.0.0.0', 4],
] as const) blocked.addSubnet(net, prefix, 'ipv4');
for (const [net, prefix] of [
  ['::', 128], ['::1', 128], ['fc00::', 7], ['fe80::', 10], ['ff00::', 8], ['64:ff9b::', 96], ['100::', 64], ['2001:db8::', 32],
  // Teredo tunnels reach an IPv4 address hidden in the address: none are webhooks.
  ['2001::', 32],
] as const) blocked.addSubnet(net, prefix, 'ipv6');

/** Whether an address is one a webhook may not reach without WEBHOOK_ALLOW_PRIVATE. */
export function isPrivateAddress(address: string): boolean {
  const family = isIP(address);
  if (family === 4) return blocked.check(address, 'ipv4');
  if (family === 6) {
    const embedded = embeddedIpv4(address);
    if (embedded !== null && blocked.check(embedded, 'ipv4')) return true;
    return blocked.check(address, 'ipv6');
  }
  return true;
}

/** The eight 16-bit groups of an IPv6 address (valid, as isIP said), a trailing dotted IPv4 included. */
function groups(address: string): number[] {
  let text = address.toLowerCase();
  const dotted = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(text);
  if (dotted) {
    const [a, b, c, d] = dotted.slice(1).map(Number) as [number, number, number, number];
    text = `${text.slice(0, dotted.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head, tail] = text.includes('::') ? (text.split('::') as [string, string]) : [text, null];
  const left = head ? head.split(':') : [];
  const right = tail === null ? [] : tail ? tail.split(':') : [];
  const zeros = tail === null ? [] : Array(8 - left.length - right.length).fill('0');
  return [...left, ...zeros, ...right].map((g) => parseInt(g, 16));
}

/**
 * The IPv4 address an IPv6 address carries, where it carries one a packet can reach: IPv4-mapped
 * (::ffff:a.b.c.d), IPv4-compatible (::a.b.c.d), IPv4-translated (::ffff:0:a.b.c.d) and 6to4
 * (2002:aabb:ccdd::). Null otherwise.
 */
function embeddedIpv4(address: string): string | null {
  const g = groups(address);
  const v4 = (hi: number, lo: number) => `${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}`;
  const zero = (from: number, to: number) => g.slice(from, to).every((x) => x === 0);
  if (zero(0, 5) && (g[5] === 0xffff || g[5] === 0)) return v4(g[6] ?? 0, g[7] ?? 0);
  if (zero(0, 4) && g[4] === 0xffff && g[5] === 0) return v4(g[6] ?? 0, g[7] ?? 0);
  if (g[0] === 0x2002) return v4(g[1] ?? 0, g[2] ?? 0);
  return null;
}

export type UrlProblem = string;

function resolveAll(host: string): Promise<LookupAddress[]> {
  return new Promise((resolve, reject) => dnsLookup(host, { all: true }, (err, addresses) => (err ? reject(err) : resolve(addresses))));
}

/** Null when the URL may be a webhook's; otherwise why not, in words a caller can act on. */
export async function webhookUrlProblem(raw: string, allowPrivate: boolean): Promise<UrlProblem | null> {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return 'The URL is malformed.';
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return 'A webhook URL must be http or https.';
  if (url.username || url.password) return 'A webhook URL may not carry a user name or password; the signature authenticates the gateway.';
  if (url.hash) return 'A webhook URL has no fragment.';
  if (allowPrivate) return null;
  const host = url.hostname.replace(/^\[|\]$/g, '');
  let addresses: string[];
  if (isIP(host)) addresses = [host];
  else {
    try {
      addresses = (await resolveAll(host)).map((a) => a.address);
    } catch {
      return `The host ${host} does not resolve.`;
    }
  }
  if (addresses.length === 0 || addresses.some(isPrivateAddress)) {
    return `The host ${host} is a loopback, private or link-local address: webhooks reach public addresses only (WEBHOOK_ALLOW_PRIVATE=1 lifts this, for tests and closed networks).`;
  }
  return null;
}

/** A `lookup` for http.request that refuses private addresses at connection time (unless allowed). */
export function guardedLookup(allowPrivate: boolean): LookupFunction {
  return (hostname, options, callback) => {
    dnsLookup(hostname, { ...options, all: true }, (err, addresses) => {
      if (err) return callback(err, '', 4);
      const list = addresses as LookupAddress[];
      const allowed = allowPrivate ? list : list.filter((a) => !isPrivateAddress(a.address));
      if (allowed.length === 0) {
        const refusal = Object.assign(new Error(`refused: ${hostname} resolves to a private address`), { code: ADDRESS_REFUSED });
        return callback(refusal, '', 4);
      }
      if ((options as { all?: boolean }).all) return (callback as unknown as (e: null, a: LookupAddress[]) => void)(null, allowed);
      const first = allowed[0] as LookupAddress;
      callback(null, first.address, first.family);
    });
  };
}
