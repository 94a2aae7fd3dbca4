import { describe, expect, it } from "vitest";
import type { Topology } from "../topology/types.js";
import { seedAddress } from "./seed.js";

const withSubnet = (subnet: string) => ({ network: { subnet } }) as unknown as Topology;

describe("seedAddress", () => {
  it.each([
    ["10.78.0.0/24", "10.78.0.254"],
    ["10.77.0.0/24", "10.77.0.254"],
    ["172.20.0.0/16", "172.20.255.254"],
    ["192.168.4.0/28", "192.168.4.14"],
  ])("is the last usable address of %s", (subnet, address) => {
    expect(seedAddress(withSubnet(subnet))).toBe(address);
  });
});
