/**
 * Entry point of haproxy-consul-sync (see sync.ts). Environment:
 * CONSUL_HTTP_ADDR (http://127.0.0.1:8500), CONSUL_HTTP_TOKEN, SERVICE_NAME
 * (cabify), HAPROXY_SOCKET (/run/haproxy/admin.sock), HAPROXY_BACKEND
 * (be_<service>), RESYNC_SECONDS (5), LOG_LEVEL (info).
 */
import { createLogger } from "../../lib/log.js";
import { backendName, DEFAULT_SERVICE_NAME } from "../../lib/names.js";
import { runSync, type SyncOptions } from "./sync.js";

function positive(name: string, fallback: number): number {
  const raw = process.env[name];
  const value = raw === undefined || raw === "" ? fallback : Number(raw);
  if (!Number.isFinite(value) || value <= 0) {
    process.stderr.write(`haproxy-consul-sync: ${name} is "${raw}"; expected a positive number\n`);
    process.exit(2);
  }
  return value;
}

const service = process.env.SERVICE_NAME || DEFAULT_SERVICE_NAME;
const level = process.env.LOG_LEVEL === "debug" ? "debug" : "info";
const log = createLogger(level, { component: "haproxy-consul-sync", service });
// runSync ends within moments of the abort (the blocking query is aborted
// too), so systemd's stop does not wait out a 30 s query.
const stop = new AbortController();
for (const sig of ["SIGTERM", "SIGINT"] as const) process.once(sig, () => stop.abort());
const options: SyncOptions = {
  consulAddress: process.env.CONSUL_HTTP_ADDR || "http://127.0.0.1:8500",
  consulToken: process.env.CONSUL_HTTP_TOKEN || undefined,
  service,
  socket: process.env.HAPROXY_SOCKET || "/run/haproxy/admin.sock",
  backend: process.env.HAPROXY_BACKEND || backendName(service),
  resyncSeconds: positive("RESYNC_SECONDS", 5),
  log,
  signal: stop.signal,
};
log.info("starting", { consul: options.consulAddress, socket: options.socket, backend: options.backend });
await runSync(options);
log.info("stopped");
