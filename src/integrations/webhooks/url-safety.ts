import { lookup } from 'node:dns/promises';
import { BlockList, isIP } from 'node:net';
import type { FieldError } from '../../core/errors.ts';
import { webhookUrlLengthMax } from '../../engine/webhook-endpoints.ts';

/**
 * Where webhooks may go (PRODUCT §11): `https:` or `http:` URLs whose host resolves only to
 * public addresses. Loopback, private, link-local, carrier-grade NAT, multicast and reserved
 * ranges are refused, so an API caller cannot make the server probe its own network, unless
 * `TALLY_WEBHOOK_ALLOW_PRIVATE=1` (local development and tests).
 */
const blocked = new BlockList();
for (const [network, prefix] of [
  ['0.0.0.0', 8], ['10.0.0.0', 8], ['100.64.0.0', 10], ['127.0.0.0', 8], ['169.254.0.0', 16], ['172.16.0.0', 12],
  ['192.0.0.0', 24], ['192.0.2.0', 24], ['192.168.0.0', 16], ['198.18.0.0', 15], ['198.51.100.0', 24], ['203.0.113.0', 24],
  ['224.0.0.0', 4], ['240.0.0.0', 4],
] as const) blocked.addSubnet(network, prefix, 'ipv4');
for (const [network, prefix] of [['::', 128], ['::1', 128], ['fc00::', 7], ['fe80::', 10], ['ff00::', 8], ['2001:db8::', 32]] as const) {
  blocked.addSubnet(network, prefix, 'ipv6');
}

/** True for an address a webhook must not reach (IPv4-mapped IPv6 addresses are checked as IPv4). */
export function isPrivateAddress(address: string): boolean {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped) return blocked.check(mapped[1]!, 'ipv4');
  const family = isIP(address);
  if (family === 0) return true;
  return blocked.check(address, family === 4 ? 'ipv4' : 'ipv6');
}

export type UrlCheck = (field: string, url: string) => Promise<FieldError | null>;

/** The check for endpoint URLs, resolving the host with the system resolver. */
export function webhookUrlCheck(options: { allowPrivate: boolean }): UrlCheck {
  return async (field, raw) => {
    let url: URL;
    try {
      url = new URL(raw);
    } catch {
      return { field, code: 'invalid_url', message: 'url must be an absolute http or https URL.' };
    }
    if (url.protocol !== 'https:' && url.protocol !== 'http:') return { field, code: 'invalid_url', message: 'url must use https or http.' };
    if (raw.length > webhookUrlLengthMax) return { field, code: 'invalid_url', message: `url may be at most ${webhookUrlLengthMax} characters.` };
    if (url.username !== '' || url.password !== '') return { field, code: 'invalid_url', message: 'url must not carry credentials.' };
    if (options.allowPrivate) return null;
    const host = url.hostname.replace(/^\[|\]$/g, '');
    let addresses: string[];
    try {
      addresses = isIP(host) ? [host] : (await lookup(host, { all: true, verbatim: true })).map((a) => a.address);
    } catch {
      return { field, code: 'unresolvable_host', message: `The host ${JSON.stringify(host)} does not resolve.` };
    }
    const refused = addresses.find(isPrivateAddress);
    if (refused !== undefined) {
      return { field, code: 'private_address', message: `The host resolves to ${refused}, a loopback or private address; webhooks go to public addresses only (TALLY_WEBHOOK_ALLOW_PRIVATE=1 allows them for local use).` };
    }
    return null;
  };
}
