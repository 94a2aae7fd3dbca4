import type { Server } from "node:http";
import { setTimeout as sleep } from "node:timers/promises";
import type { Config } from "./config.js";
import type { ConnectionTracker } from "./connections.js";
import type { Lifecycle } from "./lifecycle.js";
import { errorFields, type Logger } from "../../lib/log.js";
import { DRAIN_REASON, type Registration } from "./agent/registration.js";

export interface DrainDeps {
  config: Config;
  server: Server;
  connections: ConnectionTracker;
  lifecycle: Lifecycle;
  log: Logger;
  registration: Registration | undefined;
}

/** `clean`: no request was cut; `forced`: the timeout cut requests that were in progress. */
export type DrainOutcome = "clean" | "forced";

/**
 * Takes the instance out of service without failing a request:
 * 1. readiness turns false (/readyz 503), connections with no request in
 *    progress are closed, and Consul puts the instance in maintenance, so
 *    Consul, and HAProxy following it, stop sending new requests;
 * 2. `drain.delaySeconds` after the start (time for load balancers to
 *    notice) the listener closes, and so do connections opened meanwhile
 *    that carry no request;
 * 3. in-flight requests finish (their responses say Connection: close);
 * 4. the instance is deregistered.
 * Everything, the Consul calls included, is bounded by `drain.timeoutSeconds`:
 * at the deadline a hung Consul call is abandoned and requests still in
 * progress are cut. Only the latter makes the outcome `forced`.
 *
 * @example
 * process.once("SIGTERM", () => drain(deps).then((o) => process.exit(o === "clean" ? 0 : 1)));
 */
export async function drain({ config, server, connections, lifecycle, log, registration }: DrainDeps): Promise<DrainOutcome> {
  const started = Date.now();
  const deadline = started + config.drain.timeoutSeconds * 1000;
  const untilDeadline = AbortSignal.timeout(config.drain.timeoutSeconds * 1000);
  lifecycle.startDraining();
  const idle = connections.closeIdle();
  log.info("draining", { delay_s: config.drain.delaySeconds, timeout_s: config.drain.timeoutSeconds, idle_connections_closed: idle, in_flight: connections.busy() });

  if (registration) {
    try {
      await registration.enterMaintenance(DRAIN_REASON, { signal: untilDeadline });
      log.info("in Consul maintenance; no new traffic should arrive");
    } catch (err) {
      // Not fatal: /readyz already fails, so Consul's check turns critical on its own.
      log.warn("could not enter Consul maintenance; relying on the failing readiness check", errorFields(err));
    }
  }

  await sleep(Math.max(0, Math.min(started + config.drain.delaySeconds * 1000, deadline) - Date.now()));

  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  connections.closeIdle();
  let outcome: DrainOutcome = await Promise.race([closed.then(() => "clean" as const), sleep(Math.max(0, deadline - Date.now())).then(() => "forced" as const)]);
  if (outcome === "forced") {
    const cut = connections.closeAll();
    if (cut > 0) log.warn("drain timeout reached; cut the requests still in progress", { timeout_s: config.drain.timeoutSeconds, requests_cut: cut });
    else outcome = "clean";
  }

  if (registration) {
    try {
      await registration.deregister({ signal: untilDeadline });
      log.info("deregistered from Consul");
    } catch (err) {
      // Consul's DeregisterCriticalServiceAfter removes it later; the next
      // start clears the drain's maintenance if the agent still holds it.
      log.warn("could not deregister from Consul before the drain deadline", errorFields(err));
    }
  }
  return outcome;
}
