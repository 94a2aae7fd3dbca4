import { setTimeout as sleep } from "node:timers/promises";
import type { Config } from "../config.js";
import { errorFields, type Logger } from "../../../lib/log.js";
import type { ConsulClient, ServiceDefinition } from "../../../lib/consul.js";

/**
 * The service as Consul should know it. The check hits /readyz, so Consul,
 * HAProxy and the instance itself agree on "ready".
 *
 * @example
 * serviceDefinition(config).ID // "cabify-app-1-8080"
 */
export function serviceDefinition(config: Config, weight = config.weight): ServiceDefinition {
  const { serviceId, serviceName, advertiseAddress, port, consul } = config;
  return {
    ID: serviceId,
    Name: serviceName,
    Address: advertiseAddress,
    Port: port,
    Tags: config.tags,
    Meta: { version: config.version, instance: serviceId },
    // Warning weight 1: an instance whose check warns still serves, but little.
    Weights: { Passing: weight, Warning: 1 },
    Check: {
      CheckID: `${serviceId}:readyz`,
      Name: `${serviceName} readiness`,
      HTTP: `http://${advertiseAddress}:${port}/readyz`,
      Method: "GET",
      Interval: `${consul.checkIntervalSeconds}s`,
      Timeout: `${consul.checkTimeoutSeconds}s`,
      // Cleans up after an instance that died without deregistering.
      DeregisterCriticalServiceAfter: `${consul.deregisterCriticalAfterSeconds}s`,
    },
  };
}

export interface Registration {
  /** Resolves once the first registration succeeded. */
  readonly registered: Promise<void>;
  /** Stops re-registering and puts the instance in Consul maintenance, so traffic moves away. */
  enterMaintenance(reason: string): Promise<void>;
  /** Stops re-registering and removes the instance from Consul. */
  deregister(): Promise<void>;
  /** Stops the loop without touching Consul. */
  stop(): void;
}

export interface RegistrationOptions {
  config: Config;
  consul: ConsulClient;
  log: Logger;
  /** Backoff bounds while Consul is unreachable, in ms. */
  backoff?: { initialMs: number; maxMs: number };
}

/**
 * Registers the instance with the local Consul agent and keeps it registered:
 * every `resyncIntervalSeconds` it asks the agent whether it still knows the
 * service and registers again if not (an agent restarted with an empty data
 * dir forgets everything). While Consul is down it retries with jittered
 * exponential backoff; the service keeps serving meanwhile.
 *
 * @example
 * const registration = keepRegistered({ config, consul, log });
 * await registration.registered;
 * // on shutdown:
 * await registration.enterMaintenance("draining");
 * await registration.deregister();
 */
export function keepRegistered({ config, consul, log, backoff = { initialMs: 250, maxMs: 10_000 } }: RegistrationOptions): Registration {
  const definition = serviceDefinition(config);
  const stopping = new AbortController();
  let resolveRegistered!: () => void;
  const registered = new Promise<void>((resolve) => (resolveRegistered = resolve));
  let everRegistered = false;

  async function loop(): Promise<void> {
    let delay = backoff.initialMs;
    let failures = 0;
    while (!stopping.signal.aborted) {
      try {
        if (!(await consul.service(definition.ID))) {
          await consul.register(definition);
          log.info(everRegistered ? "re-registered: the local Consul agent had lost the service" : "registered with Consul", {
            service_id: definition.ID,
            consul: consul.address,
          });
          everRegistered = true;
          resolveRegistered();
        }
        if (failures > 0) log.info("Consul reachable again", { after_failures: failures });
        failures = 0;
        delay = backoff.initialMs;
        await sleep(config.consul.resyncIntervalSeconds * 1000, undefined, { signal: stopping.signal });
      } catch (err) {
        if (stopping.signal.aborted) return;
        failures += 1;
        // Log the first failure and then every 10th, so an outage does not flood the logs.
        if (failures === 1 || failures % 10 === 0) log.warn("Consul registration failed; retrying", { ...errorFields(err), retry_in_ms: delay, failures });
        await sleep(delay * (0.5 + Math.random() / 2), undefined, { signal: stopping.signal }).catch(() => undefined);
        delay = Math.min(delay * 2, backoff.maxMs);
      }
    }
  }

  const running = loop().catch((err: unknown) => log.error("registration loop crashed", errorFields(err)));
  const stop = () => stopping.abort();

  return {
    registered,
    stop,
    async enterMaintenance(reason) {
      stop();
      await running;
      await consul.maintenance(definition.ID, true, reason);
    },
    async deregister() {
      stop();
      await running;
      await consul.deregister(definition.ID);
    },
  };
}
