import { describe, expect, it } from "vitest";
import type { RequestRecord } from "./load.js";
import { renderTimeline } from "./timeline.js";

/** 10 s at 50 req/s; between 3 s and 3.5 s every request fails; lb-1 answers before 3 s, lb-2 after. */
function failover(): RequestRecord[] {
  return Array.from({ length: 500 }, (_, i) => {
    const startMs = i * 20;
    const failed = startMs >= 3000 && startMs < 3500;
    return {
      startMs,
      latencyMs: failed ? 2000 : 2 + (i % 7),
      outcome: failed ? "timeout" : "ok",
      ...(failed ? {} : { instance: `cabify-app-${(i % 3) + 1}-8080`, lb: startMs < 3000 ? "lb-1" : "lb-2" }),
    };
  });
}

describe("renderTimeline", () => {
  const svg = renderTimeline(failover(), [{ atMs: 3000, label: "kill lb-1 <hard>" }], "lb-kill & friends");

  it("draws one failure bar per 100 ms bucket that had failures, and the successes", () => {
    expect(svg.match(/fill="#e15759"/g)).toHaveLength(5);
    expect(svg.match(/fill="#59a14f"\/>/g)?.length).toBe(95);
  });

  it("marks the events and names every instance and LB in the legend, escaped", () => {
    expect(svg).toContain("kill lb-1 &lt;hard&gt;");
    expect(svg).toContain("lb-kill &amp; friends");
    for (const name of ["cabify-app-1-8080", "cabify-app-2-8080", "cabify-app-3-8080", "lb-1", "lb-2"]) expect(svg).toContain(`>${name}</text>`);
    expect(svg).toContain("peak 2000 ms");
  });

  it("is one well-formed SVG document: every element it opens is closed", () => {
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
    const opened = [...svg.matchAll(/<(rect|text|line|polyline|style|title|svg)\b[^>]*?(\/)?>/g)].filter((m) => !m[2]).map((m) => m[1]);
    const closed = [...svg.matchAll(/<\/(rect|text|line|polyline|style|title|svg)>/g)].map((m) => m[1]);
    expect(closed.sort()).toEqual(opened.sort());
  });
});
