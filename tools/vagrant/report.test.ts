import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import type { HaltDrillReport } from "./halt-drill.js";
import { renderVagrantReport } from "./report.js";

// The files a real run of tests/vagrant/vagrant.bats wrote (docs/vagrant/).
const timings = readFileSync(new URL("../../docs/vagrant/timings.txt", import.meta.url), "utf8");
const drill = JSON.parse(readFileSync(new URL("../../docs/vagrant/halt-drill.json", import.meta.url), "utf8")) as HaltDrillReport;

describe("renderVagrantReport", () => {
  it("tabulates every timed step, the idle CPU per VM and the drill, from the run's own files", () => {
    const text = renderVagrantReport(timings, "12", drill);
    const up = /^up (\d+)$/m.exec(timings)![1];
    expect(text).toContain(`| build or reuse the box (\`vagrant/box/build.sh\`) | 12 s |`);
    expect(text).toContain(`| \`vagrant up --no-provision\`: every VM booted and reachable over SSH | ${up} s |`);
    expect(text).toMatch(/\| consul-1 \| consul-2 \| consul-3 \| lb-1 \|/);
    expect(text).toContain(`| requests sent | ${drill.baseline.sent} | ${drill.halt.sent} |`);
    expect(text).toContain(`## vagrant halt ${drill.halted} (it held the VIP)`);
  });

  it("leaves out what a run that stopped early did not write", () => {
    const text = renderVagrantReport("up 200\n", undefined, undefined);
    expect(text).toContain("| **all steps** | **200 s** |");
    expect(text).not.toContain("converge");
    expect(text).not.toContain("vagrant halt");
    expect(text).not.toContain("idle");
  });
});
