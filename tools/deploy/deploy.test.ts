import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { summarize } from "../load/load.js";
import { stepOf } from "./playbook.js";
import { writeReportIndex } from "./report.js";
import type { DeployReport } from "./under-load.js";

describe("stepOf", () => {
  it("names a host's step from a changed line in one of the marked tasks", () => {
    expect(stepOf("Drain the instance through Consul maintenance, so both LBs stop sending it requests.", "changed: [app-2]")).toEqual({ host: "app-2", step: "drain" });
    expect(stepOf("Drain the old instance through Consul maintenance.", "changed: [app-1]")).toEqual({ host: "app-1", step: "drain old" });
    expect(stepOf("cabify : Ensure the cabify container runs.", "changed: [app-3]")).toEqual({ host: "app-3", step: "container started" });
  });

  it("ignores ok lines, other tasks and task headers", () => {
    expect(stepOf("cabify : Ensure the cabify container runs.", "ok: [app-3]")).toBeUndefined();
    expect(stepOf("Note the version the host now runs.", "changed: [app-1]")).toBeUndefined();
    expect(stepOf("Drain the instance", "TASK [Drain the instance] ***")).toBeUndefined();
  });
});

describe("writeReportIndex", () => {
  const report = (version: string, exitCode: number, finishedAt: string, outcomes: string[]): DeployReport => ({
    version,
    strategy: "rolling",
    exitCode,
    summary: `deploy ${version} (rolling) ${exitCode === 0 ? "done" : "ABORTED at app-1 (x), back on 0.1.0"}: app-1=...`,
    versions: {},
    steps: [],
    deploySeconds: 70.4,
    load: summarize(outcomes.map((outcome, i) => ({ startMs: i * 5, latencyMs: 2, outcome, version }))),
    baseline: summarize([]),
    keepAlive: summarize([]),
    events: [],
    finishedAt,
  });

  it("lists every report in the order they ran, with its counts and outcome", () => {
    const dir = mkdtempSync(join(tmpdir(), "deploy-report-"));
    writeFileSync(join(dir, "rolling-0.3.0.json"), JSON.stringify(report("0.3.0", 2, "2026-01-01T00:02:00Z", ["ok", "ok"])));
    writeFileSync(join(dir, "rolling-0.2.0.json"), JSON.stringify(report("0.2.0", 0, "2026-01-01T00:01:00Z", ["ok", "timeout", "ok"])));
    writeReportIndex(dir);
    const rows = readFileSync(join(dir, "README.md"), "utf8")
      .split("\n")
      .filter((l) => l.startsWith("| ["));
    expect(rows).toHaveLength(2);
    expect(rows[0]).toMatch(/^\| \[rolling 0\.2\.0\]\(rolling-0\.2\.0\.svg\) \| deployed \| 70 s \| 3 \| 1 \| /);
    expect(rows[0]).toContain("0.2.0: 2");
    expect(rows[1]).toMatch(/^\| \[rolling 0\.3\.0\]\(rolling-0\.3\.0\.svg\) \| \*\*stopped\*\* \(exit 2\) \| 70 s \| 2 \| 0 \| /);
  });
});
