import { describe, expect, it } from "vitest";
import { cpuSnapshot, cpuSpent, type CpuSnapshot } from "./cpu.js";

describe("cpuSpent", () => {
  it("sums by command, counts this process and the kernel's workers apart, and skips a reused pid", () => {
    const before: CpuSnapshot = new Map([
      [10, { command: "haproxy", ms: 100 }],
      [11, { command: "node", ms: 50 }],
      [12, { command: "node", ms: 0 }],
      [13, { command: "kworker/u8:1-writeback", ms: 5 }],
      [14, { command: "old", ms: 900 }],
    ]);
    const after: CpuSnapshot = new Map([
      [10, { command: "haproxy", ms: 130 }],
      [11, { command: "node", ms: 90 }],
      [12, { command: "node", ms: 20 }],
      [13, { command: "kworker/u8:1-events", ms: 8 }],
      [14, { command: "new", ms: 7 }],
      [process.pid, { command: "node", ms: 1000 }],
    ]);
    expect(cpuSpent(before, after)).toEqual([
      ["bench client", 1000],
      ["node", 60],
      ["haproxy", 30],
      ["new", 7],
      ["kernel workers", 3],
    ]);
  });

  it("reads this machine's processes, this one among them", () => {
    const snapshot = cpuSnapshot();
    expect(snapshot.get(process.pid)?.ms).toBeGreaterThan(0);
    expect(snapshot.size).toBeGreaterThan(1);
  });
});
