import { describe, expect, it } from "vitest";
import { createApp } from "./app.js";
import { loadConfig, type Config } from "./config.js";
import { createLifecycle } from "./lifecycle.js";
import { createLogger } from "../../lib/log.js";
import { createMetrics } from "./metrics.js";

function setup(env: Record<string, string> = {}, registered = true) {
  const loaded = loadConfig({ ADVERTISE_ADDRESS: "10.77.0.31", SERVICE_ID: "cabify-app-1-8080", ...env }, { version: "0.1.0" });
  if (!loaded.ok) throw new Error("bad test config");
  const config: Config = loaded.config;
  const metrics = createMetrics({ version: config.version, instance: config.serviceId });
  const lifecycle = createLifecycle(metrics, registered);
  const app = createApp({ config, lifecycle, metrics, log: createLogger("error", {}, () => undefined) });
  return { app, lifecycle };
}

describe("cabify HTTP API", () => {
  it("answers /status byte-for-byte with the advertised address, and names instance and version", async () => {
    const res = await setup().app.request("/status");
    expect(res.status).toBe(200);
    expect(await res.text()).toBe("OK from 10.77.0.31");
    expect(res.headers.get("x-cabify-instance")).toBe("cabify-app-1-8080");
    expect(res.headers.get("x-cabify-version")).toBe("0.1.0");
  });

  it("answers 404 for unknown paths, still naming the instance", async () => {
    const res = await setup().app.request("/nope");
    expect(res.status).toBe(404);
    expect(res.headers.get("x-cabify-instance")).toBe("cabify-app-1-8080");
  });

  it.each(["POST", "PUT", "DELETE", "PATCH"])("answers 405 with Allow for %s on a known path", async (method) => {
    for (const path of ["/status", "/readyz", "/metrics"]) {
      const res = await setup().app.request(path, { method });
      expect(res.status).toBe(405);
      expect(res.headers.get("allow")).toBe("GET, HEAD");
      expect(res.headers.get("x-cabify-instance")).toBe("cabify-app-1-8080");
    }
  });

  it("answers HEAD like GET, without a body", async () => {
    const res = await setup().app.request("/status", { method: "HEAD" });
    expect(res.status).toBe(200);
    expect(await res.text()).toBe("");
  });

  it("keeps /debug/sleep unknown (404, not 405) when debug routes are off", async () => {
    expect((await setup().app.request("/debug/sleep", { method: "POST" })).status).toBe(404);
  });

  it("is not ready before registration, ready after, and not ready again while draining", async () => {
    const { app, lifecycle } = setup({}, false);
    expect((await app.request("/readyz")).status).toBe(503);
    lifecycle.markRegistered();
    expect((await app.request("/readyz")).status).toBe(200);
    lifecycle.startDraining();
    const draining = await app.request("/readyz");
    expect(draining.status).toBe(503);
    expect(await draining.text()).toBe("not ready: draining");
    expect(draining.headers.get("connection")).toBe("close");
    // Liveness stays green: a draining instance must not be killed early.
    expect((await app.request("/healthz")).status).toBe(200);
  });

  it("exposes Prometheus metrics that count requests by route and status", async () => {
    const { app } = setup();
    await app.request("/status");
    await app.request("/status");
    await app.request("/does-not-exist");
    const text = await (await app.request("/metrics")).text();
    expect(text).toContain('cabify_http_requests_total{route="/status",method="GET",status="200"} 2');
    expect(text).toContain('cabify_http_requests_total{route="other",method="GET",status="404"} 1');
    expect(text).toContain('cabify_http_request_duration_seconds_count{route="/status"} 2');
    expect(text).toContain('cabify_build_info{version="0.1.0",instance="cabify-app-1-8080"} 1');
    expect(text).toContain("cabify_ready 1");
  });

  it("reports its version as JSON", async () => {
    expect(await (await setup().app.request("/version")).json()).toEqual({ service: "cabify", version: "0.1.0", instance: "cabify-app-1-8080", address: "10.77.0.31" });
  });

  it("serves /debug/sleep only when DEBUG_ROUTES is on", async () => {
    expect((await setup().app.request("/debug/sleep?ms=1")).status).toBe(404);
    expect(await (await setup({ DEBUG_ROUTES: "true" }).app.request("/debug/sleep?ms=1")).text()).toBe("slept 1ms on 10.77.0.31");
  });
});
