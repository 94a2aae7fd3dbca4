import type { Server } from "node:http";
import { setTimeout as sleep } from "node:timers/promises";
import type { Config } from "./config.js";
import type { Lifecycle } from "./lifecycle.js";
import { errorFields, type Logger } from "../../lib/log.js";
import type { Registration } from "./agent/registration.js";

export interface DrainDeps {
  config: Config;
  server: Server;
  lifecycle: Lifecycle;
  log: Logger;
  registration: Registration | undefined;
}

/** `clean`: every in-flight request finished; `forced`: the timeout cut some. */
export type DrainOutcome = "clean" | "forced";

/**
 * Takes the instance out of service without failing a request:
 * 1. readiness turns false (/readyz 503) and Consul puts it in maintenance,
 *    so Consul, and HAProxy following it, stop sending new requests;
 * 2. after `drain.delaySeconds` (time for load balancers to notice) the
 *    listener closes and idle keep-alive sockets are closed;
 * 3. in-flight requests finish (busy sockets close after their response);
 * 4. the instance is deregistered.
 * The whole sequence is bounded by `drain.timeoutSeconds`; past it the
 * remaining connections are cut.
 *
 * @example
 * process.once("SIGTERM", () => drain(deps).then((o) => process.exit(o === "clean" ? 0 : 1)));
 */
export async function drain({ config, server, lifecycle, log, registration }: DrainDeps): Promise<DrainOutcome> {
  const deadline = Date.now() + config.drain.timeoutSeconds * 1000;
  lifecycle.startDraining();
  log.info("draining", { delay_s: config.drain.delaySeconds, timeout_s: config.drain.timeoutSeconds });

  if (registration) {
    try {
      await registration.enterMaintenance("draining: the instance is shutting down");
      log.info("in Consul maintenance; no new traffic should arrive");
    } catch (err) {
      // Not fatal: /readyz already fails, so Consul's check turns critical on its own.
      log.warn("could not enter Consul maintenance; relying on the failing readiness check", errorFields(err));
    }
  }

  await sleep(Math.max(0, Math.min(config.drain.delaySeconds * 1000, deadline - Date.now())));

  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  server.closeIdleConnections();
  const remaining = Math.max(0, deadline - Date.now());
  const outcome = await Promise.race([closed.then(() => "clean" as const), sleep(remaining).then(() => "forced" as const)]);
  if (outcome === "forced") {
    log.warn("drain timeout reached; closing the remaining connections", { timeout_s: config.drain.timeoutSeconds });
    server.closeAllConnections();
  }

  if (registration) {
    try {
      await registration.deregister();
      log.info("deregistered from Consul");
    } catch (err) {
      // Consul's DeregisterCriticalServiceAfter removes it later.
      log.warn("could not deregister from Consul", errorFields(err));
    }
  }
  return outcome;
}
