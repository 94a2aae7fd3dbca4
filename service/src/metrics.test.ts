import { describe, expect, it } from "vitest";
import { createMetrics } from "./metrics.js";

describe("metrics", () => {
  it("keeps histogram buckets cumulative", () => {
    const metrics = createMetrics({ version: "1.0.0", instance: "i" });
    metrics.observeRequest("/status", "GET", 200, 0.003);
    metrics.observeRequest("/status", "GET", 200, 0.2);
    const text = metrics.render();
    expect(text).toContain('cabify_http_request_duration_seconds_bucket{route="/status",le="0.001"} 0');
    expect(text).toContain('cabify_http_request_duration_seconds_bucket{route="/status",le="0.005"} 1');
    expect(text).toContain('cabify_http_request_duration_seconds_bucket{route="/status",le="0.25"} 2');
    expect(text).toContain('cabify_http_request_duration_seconds_bucket{route="/status",le="+Inf"} 2');
    expect(text).toContain('cabify_http_request_duration_seconds_sum{route="/status"} 0.203');
  });

  it("escapes label values", () => {
    const text = createMetrics({ version: '1"2', instance: "a\\b" }).render();
    expect(text).toContain('cabify_build_info{version="1\\"2",instance="a\\\\b"} 1');
  });

  it("counts registration passes by result, each series on its own", () => {
    const metrics = createMetrics({ version: "0.1.0", instance: "i" });
    expect(metrics.render()).not.toContain("cabify_consul_reconciles_total");
    metrics.increment("cabify_consul_reconciles_total", { result: "in_sync" });
    metrics.increment("cabify_consul_reconciles_total", { result: "in_sync" });
    metrics.increment("cabify_consul_reconciles_total", { result: "mended" });
    const text = metrics.render();
    expect(text).toContain("# TYPE cabify_consul_reconciles_total counter");
    expect(text).toContain('cabify_consul_reconciles_total{result="in_sync"} 2');
    expect(text).toContain('cabify_consul_reconciles_total{result="mended"} 1');
  });
});
