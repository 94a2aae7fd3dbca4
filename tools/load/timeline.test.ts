import { describe, expect, it } from "vitest";
import type { RequestRecord } from "./load.js";
import { renderTimeline } from "./timeline.js";

/** 10 s at 50 req/s; between 3 s and 3.5 s every request fails; lb-1 answers before 3 s, lb-2 after; version 0.2.0 from 6 s. */
function failover(): RequestRecord[] {
  return Array.from({ length: 500 }, (_, i) => {
    const startMs = i * 20;
    const failed = startMs >= 3000 && startMs < 3500;
    return {
      startMs,
      latencyMs: failed ? 2000 : 2 + (i % 7),
      outcome: failed ? "timeout" : "ok",
      ...(failed ? {} : { instance: `cabify-app-${(i % 3) + 1}-8080`, lb: startMs < 3000 ? "lb-1" : "lb-2", version: startMs < 6000 ? "0.1.0" : "0.2.0" }),
    };
  });
}

describe("renderTimeline", () => {
  const svg = renderTimeline(failover(), [{ atMs: 3000, label: "kill lb-1 <hard>" }], "lb-kill & friends");

  it("draws one failure bar per 100 ms bucket that had failures, and the successes", () => {
    expect(svg.match(/fill="#e15759"/g)).toHaveLength(5);
    expect(svg.match(/fill="#59a14f"\/>/g)?.length).toBe(95);
  });

  it("marks the events and names every instance, LB and version in the legend, escaped", () => {
    expect(svg).toContain("kill lb-1 &lt;hard&gt;");
    expect(svg).toContain("lb-kill &amp; friends");
    for (const name of ["cabify-app-1-8080", "cabify-app-2-8080", "cabify-app-3-8080", "lb-1", "lb-2", "0.1.0", "0.2.0"]) expect(svg).toContain(`>${name}</text>`);
    expect(svg).toContain("peak 2000 ms");
  });

  it("shows the share of each version over time: 0.1.0 alone before 6 s, 0.2.0 alone after", () => {
    const versionBars = [...svg.matchAll(/<title>(0\.[12]\.0): \d+<\/title>/g)].map((m) => m[1]);
    // 95 buckets had answers: 25 before the failures, 30 more before 6 s, 40 after.
    expect(versionBars.filter((v) => v === "0.1.0")).toHaveLength(55);
    expect(versionBars.filter((v) => v === "0.2.0")).toHaveLength(40);
    expect(svg).toContain(">version</text>");
  });

  it("is one well-formed SVG document: every element it opens is closed", () => {
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
    const opened = [...svg.matchAll(/<(rect|text|line|polyline|style|title|svg)\b[^>]*?(\/)?>/g)].filter((m) => !m[2]).map((m) => m[1]);
    const closed = [...svg.matchAll(/<\/(rect|text|line|polyline|style|title|svg)>/g)].map((m) => m[1]);
    expect(closed.sort()).toEqual(opened.sort());
  });
});
