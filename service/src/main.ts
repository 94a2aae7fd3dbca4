/**
 * The cabify service: HTTP API + in-process registration agent + graceful drain.
 * Configuration comes from the environment (see config.ts and the README).
 */
import { serve } from "@hono/node-server";
import type { Server } from "node:http";
import { createConsulClient } from "../../lib/consul.js";
import { keepRegistered, type Registration } from "./agent/registration.js";
import { createApp } from "./app.js";
import { loadConfig } from "./config.js";
import { trackConnections } from "./connections.js";
import { drain } from "./drain.js";
import { createLifecycle } from "./lifecycle.js";
import { createLogger } from "../../lib/log.js";
import { createMetrics } from "./metrics.js";
import { packageVersion } from "./version.js";

const loaded = loadConfig(process.env, { version: packageVersion() });
if (!loaded.ok) {
  for (const e of loaded.errors) process.stderr.write(`cabify: configuration error: ${e.variable} ${e.message}\n`);
  process.stderr.write("cabify: fix the variables above and start again.\n");
  process.exit(2);
}
const config = loaded.config;
const log = createLogger(config.logLevel, { service: config.serviceName, instance: config.serviceId, version: config.version });
const metrics = createMetrics({ version: config.version, instance: config.serviceId });
const lifecycle = createLifecycle(metrics, !config.consul.register);
const app = createApp({ config, lifecycle, metrics, log });

const server = serve({ fetch: app.fetch, port: config.port, hostname: config.bindAddress }) as Server;
const connections = trackConnections(server);
server.on("error", (err) => {
  log.error("cannot listen", { address: config.bindAddress, port: config.port, error: err.message });
  process.exit(1);
});
server.on("listening", () => {
  log.info("listening", { bind: config.bindAddress, port: config.port, advertise: config.advertiseAddress });
});

let registration: Registration | undefined;
if (config.consul.register) {
  registration = keepRegistered({
    config,
    consul: createConsulClient(config.consul.address, config.consul.token),
    log,
    onReconcile: (result) => metrics.increment("cabify_consul_reconciles_total", { result }),
  });
  void registration.registered.then(() => lifecycle.markRegistered());
}

let draining = false;
function onSignal(signal: NodeJS.Signals): void {
  if (draining) {
    log.warn("already draining; ignoring signal", { signal });
    return;
  }
  draining = true;
  log.info("signal received", { signal });
  void drain({ config, server, connections, lifecycle, log, registration }).then((outcome) => {
    log.info("drained; exiting", { outcome });
    process.exit(outcome === "clean" ? 0 : 1);
  });
}
process.on("SIGTERM", onSignal);
process.on("SIGINT", onSignal);
