import { describe, expect, it } from "vitest";
import { broadcastAddress, cidrContains, formatCidr, formatIPv4, netmask, networkAddress, parseCidr, parseIPv4 } from "./ip.js";

describe("parseIPv4 / formatIPv4", () => {
  it.each([
    ["0.0.0.0", 0],
    ["10.77.0.1", 0x0a4d0001],
    ["255.255.255.255", 0xffffffff],
  ])("%s <-> %i", (text, n) => {
    expect(parseIPv4(text)).toBe(n);
    expect(formatIPv4(n)).toBe(text);
  });

  it.each(["", "10.77.0", "10.77.0.1.2", "10.77.0.256", "10.77.0.01", "-1.0.0.0", " 10.77.0.1", "a.b.c.d", "10.77.0.1/24"])(
    "rejects %j",
    (text) => expect(parseIPv4(text)).toBeUndefined(),
  );
});

describe("parseCidr", () => {
  it("parses address and prefix", () => {
    expect(parseCidr("10.77.0.5/24")).toEqual({ address: 0x0a4d0005, prefix: 24 });
    expect(parseCidr("0.0.0.0/0")).toEqual({ address: 0, prefix: 0 });
  });

  it.each(["10.77.0.0", "10.77.0.0/", "10.77.0.0/33", "10.77.0.0/024", "/24", "10.77.0.0/24/1"])("rejects %j", (text) =>
    expect(parseCidr(text)).toBeUndefined(),
  );
});

describe("network arithmetic", () => {
  const cidr = (text: string) => parseCidr(text)!;

  it("computes masks at the edges", () => {
    expect(netmask(0)).toBe(0);
    expect(netmask(8)).toBe(0xff000000);
    expect(netmask(32)).toBe(0xffffffff);
  });

  it.each([
    ["10.77.0.5/24", "10.77.0.0", "10.77.0.255"],
    ["192.168.10.0/23", "192.168.10.0", "192.168.11.255"],
    ["10.0.0.0/8", "10.0.0.0", "10.255.255.255"],
    ["172.16.5.4/30", "172.16.5.4", "172.16.5.7"],
    ["200.1.2.3/32", "200.1.2.3", "200.1.2.3"],
    ["0.0.0.0/0", "0.0.0.0", "255.255.255.255"],
  ])("%s spans %s..%s", (text, network, broadcast) => {
    expect(formatIPv4(networkAddress(cidr(text)))).toBe(network);
    expect(formatIPv4(broadcastAddress(cidr(text)))).toBe(broadcast);
  });

  it("tests membership", () => {
    const subnet = cidr("10.77.0.0/24");
    expect(cidrContains(subnet, parseIPv4("10.77.0.0")!)).toBe(true);
    expect(cidrContains(subnet, parseIPv4("10.77.0.255")!)).toBe(true);
    expect(cidrContains(subnet, parseIPv4("10.77.1.0")!)).toBe(false);
    expect(cidrContains(subnet, parseIPv4("10.76.255.255")!)).toBe(false);
    expect(cidrContains(cidr("128.0.0.0/1"), parseIPv4("255.0.0.1")!)).toBe(true);
  });

  it("normalises a CIDR to its network", () => {
    expect(formatCidr(cidr("10.77.0.5/24"))).toBe("10.77.0.0/24");
  });
});
