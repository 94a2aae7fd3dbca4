import { Hono } from "hono";
import type { Config } from "./config.js";
import type { Lifecycle } from "./lifecycle.js";
import type { Logger } from "../../lib/log.js";
import type { Metrics } from "./metrics.js";

export interface AppDeps {
  config: Config;
  lifecycle: Lifecycle;
  metrics: Metrics;
  log: Logger;
}

/** Routes we label metrics with; anything else is folded into one label so a scanner cannot blow up cardinality. */
const KNOWN_ROUTES = new Set(["/status", "/healthz", "/readyz", "/metrics", "/version", "/debug/sleep"]);

/**
 * The cabify HTTP API. `GET /status` answers `OK from <advertised ip>`: the
 * byte-exact contract clients and drills count on.
 *
 * @example
 * const app = createApp(deps);
 * const res = await app.request("/status"); // 200 "OK from 10.77.0.31"
 */
export function createApp({ config, lifecycle, metrics, log }: AppDeps): Hono {
  const app = new Hono();
  let inflight = 0;

  app.use(async (c, next) => {
    const started = performance.now();
    inflight += 1;
    metrics.setGauge("cabify_inflight_requests", inflight);
    try {
      await next();
    } finally {
      inflight -= 1;
      metrics.setGauge("cabify_inflight_requests", inflight);
      const route = KNOWN_ROUTES.has(c.req.path) ? c.req.path : "other";
      metrics.observeRequest(route, c.req.method, c.res.status, (performance.now() - started) / 1000);
    }
    // Which instance and version answered: the first thing to look at when a
    // request misbehaves behind a load balancer.
    c.header("X-Cabify-Instance", config.serviceId);
    c.header("X-Cabify-Version", config.version);
    // While draining, ask keep-alive clients (HAProxy included) to reconnect
    // elsewhere instead of reusing this connection.
    if (lifecycle.draining) c.header("Connection", "close");
  });

  app.get("/status", (c) => c.text(`OK from ${config.advertiseAddress}`));

  // Liveness: the process can serve. Stays 200 while draining, so an
  // orchestrator does not kill an instance that is finishing its requests.
  app.get("/healthz", (c) => c.text("ok"));

  app.get("/readyz", (c) => {
    if (lifecycle.ready) return c.text("ready");
    const reason = lifecycle.draining ? "draining" : "not registered with Consul yet";
    return c.text(`not ready: ${reason}`, 503);
  });

  app.get("/metrics", (c) => c.body(metrics.render(), 200, { "Content-Type": "text/plain; version=0.0.4; charset=utf-8" }));

  app.get("/version", (c) => c.json({ service: config.serviceName, version: config.version, instance: config.serviceId, address: config.advertiseAddress }));

  if (config.debugRoutes) {
    // Holds a request open for ?ms= milliseconds (at most 60 s): lets tests and
    // drills prove that a drain lets in-flight requests finish.
    app.get("/debug/sleep", async (c) => {
      const ms = Math.min(Math.max(Number(c.req.query("ms") ?? "1000") || 0, 0), 60_000);
      await new Promise((resolve) => setTimeout(resolve, ms));
      return c.text(`slept ${ms}ms on ${config.advertiseAddress}`);
    });
  }

  // A known path asked with another method is a 405 naming what it allows
  // (HEAD comes free with GET), not a 404 that sends the caller hunting for a typo.
  for (const path of KNOWN_ROUTES) {
    if (path === "/debug/sleep" && !config.debugRoutes) continue;
    app.all(path, (c) => c.text("method not allowed", 405, { Allow: "GET, HEAD" }));
  }

  app.notFound((c) => c.text("not found", 404));
  app.onError((err, c) => {
    log.error("request failed", { path: c.req.path, error: err.message });
    return c.text("internal error", 500);
  });
  return app;
}
