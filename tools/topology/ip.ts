/**
 * Just enough IPv4 arithmetic for the topology rules. Addresses are unsigned
 * 32-bit integers; `>>> 0` keeps bitwise results unsigned.
 */

/** A parsed CIDR: the address as written (host bits may be set) and the prefix length. */
export interface Cidr {
  address: number;
  prefix: number;
}

const OCTET = "(25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])";
const IPV4 = new RegExp(`^${OCTET}\\.${OCTET}\\.${OCTET}\\.${OCTET}$`);

/**
 * Parses a dotted quad (no leading zeros, which some tools read as octal).
 * @example parseIPv4("10.77.0.1") // 0x0a4d0001
 */
export function parseIPv4(text: string): number | undefined {
  const m = IPV4.exec(text);
  if (!m) return undefined;
  return m.slice(1).reduce((n, octet) => n * 256 + Number(octet), 0);
}

/** @example formatIPv4(0x0a4d0001) // "10.77.0.1" */
export function formatIPv4(n: number): string {
  return [24, 16, 8, 0].map((shift) => (n >>> shift) & 255).join(".");
}

/**
 * Parses "a.b.c.d/len" with len 0..32.
 * @example parseCidr("10.77.0.0/24") // { address: 0x0a4d0000, prefix: 24 }
 */
export function parseCidr(text: string): Cidr | undefined {
  const slash = text.indexOf("/");
  const address = parseIPv4(text.slice(0, slash));
  const bits = text.slice(slash + 1);
  if (slash < 0 || address === undefined || !/^(3[0-2]|[12]?[0-9])$/.test(bits)) return undefined;
  return { address, prefix: Number(bits) };
}

/** The netmask of a prefix length; shifting by 32 is a no-op in JS, hence the special case. */
export function netmask(prefix: number): number {
  return prefix === 0 ? 0 : (~0 << (32 - prefix)) >>> 0;
}

/** @example formatIPv4(networkAddress(parseCidr("10.77.0.5/24")!)) // "10.77.0.0" */
export function networkAddress(cidr: Cidr): number {
  return (cidr.address & netmask(cidr.prefix)) >>> 0;
}

/** @example formatIPv4(broadcastAddress(parseCidr("10.77.0.0/24")!)) // "10.77.0.255" */
export function broadcastAddress(cidr: Cidr): number {
  return (networkAddress(cidr) | ~netmask(cidr.prefix)) >>> 0;
}

/** @example cidrContains(parseCidr("10.77.0.0/24")!, parseIPv4("10.77.0.9")!) // true */
export function cidrContains(cidr: Cidr, address: number): boolean {
  return (address & netmask(cidr.prefix)) >>> 0 === networkAddress(cidr);
}

/** "a.b.c.d/len" with the address normalised to the network address. */
export function formatCidr(cidr: Cidr): string {
  return `${formatIPv4(networkAddress(cidr))}/${cidr.prefix}`;
}
