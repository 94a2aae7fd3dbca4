import { setTimeout as sleep } from "node:timers/promises";
import type { Config } from "../config.js";
import { errorFields, type Logger } from "../../../lib/log.js";
import type { AgentCheck, AgentService, CallOptions, ConsulClient, ServiceDefinition } from "../../../lib/consul.js";

/**
 * The reason the instance's own drain gives Consul. A maintenance with this
 * reason is a leftover of a drain that could not deregister (a hung agent, a
 * kill during the drain), so the next process clears it. Any other reason is
 * an operator's and is kept.
 */
export const DRAIN_REASON = "draining: the instance is shutting down";

/** Meta key recording a weight an operator set (`agent weight N`), so a resync keeps it. */
const OPERATOR_WEIGHT_META = "operator_weight";

const MAINTENANCE_CHECK = "_service_maintenance:";

/**
 * The service as Consul should know it. The check hits /readyz, so Consul,
 * HAProxy and the instance itself agree on "ready". An operator's weight, when
 * given, replaces the configured one and is recorded in Meta.
 *
 * @example
 * serviceDefinition(config).ID // "cabify-app-1-8080"
 * serviceDefinition(config, 3).Meta.operator_weight // "3"
 */
export function serviceDefinition(config: Config, operatorWeight?: number): ServiceDefinition {
  const { serviceId, serviceName, advertiseAddress, port, consul } = config;
  return {
    ID: serviceId,
    Name: serviceName,
    Address: advertiseAddress,
    Port: port,
    Tags: config.tags,
    Meta: { version: config.version, instance: serviceId, ...(operatorWeight === undefined ? {} : { [OPERATOR_WEIGHT_META]: String(operatorWeight) }) },
    // Warning weight 1: an instance whose check warns still serves, but little.
    Weights: { Passing: operatorWeight ?? config.weight, Warning: 1 },
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

/** What the local agent holds for the instance. */
export interface AgentState {
  service: AgentService | undefined;
  checks: AgentCheck[];
}

/**
 * Where the agent's registration differs from `desired`, one word per field;
 * empty when they agree. The agent does not echo the check's URL or its
 * deregister timeout back, so those are covered by address and port.
 *
 * @example
 * differences(serviceDefinition(config), { service: undefined, checks: [] }) // ["registration"]
 */
export function differences(desired: ServiceDefinition, { service, checks }: AgentState): string[] {
  if (!service) return ["registration"];
  const out: string[] = [];
  if (service.Service !== desired.Name) out.push("name");
  if (service.Address !== desired.Address) out.push("address");
  if (service.Port !== desired.Port) out.push("port");
  if (!sameJson(service.Tags ?? [], desired.Tags)) out.push("tags");
  if (!sameJson(sorted(service.Meta ?? {}), sorted(desired.Meta))) out.push("meta");
  if (!sameJson(service.Weights, desired.Weights)) out.push("weights");
  const check = checks.find((c) => c.CheckID === desired.Check.CheckID);
  if (!check) out.push("check");
  else if (
    check.Name !== desired.Check.Name ||
    (check.Type !== undefined && check.Type !== "http") ||
    durationMs(check.Interval) !== durationMs(desired.Check.Interval) ||
    durationMs(check.Timeout) !== durationMs(desired.Check.Timeout)
  ) {
    out.push("check");
  }
  return out;
}

/** Checks attached to the service that are neither its readiness check nor maintenance: an older version's. */
export function strayChecks(desired: ServiceDefinition, checks: AgentCheck[]): string[] {
  return checks.filter((c) => c.CheckID !== desired.Check.CheckID && !c.CheckID.startsWith(MAINTENANCE_CHECK)).map((c) => c.CheckID);
}

/** The reason of the maintenance the agent holds for the service, or undefined. */
export function maintenanceReason(checks: AgentCheck[]): string | undefined {
  const check = checks.find((c) => c.CheckID.startsWith(MAINTENANCE_CHECK));
  return check ? (check.Notes ?? "") : undefined;
}

/** The weight an operator set, as recorded in the service's Meta. */
export function operatorWeight(service: AgentService | undefined): number | undefined {
  const raw = service?.Meta?.[OPERATOR_WEIGHT_META] ?? "";
  const weight = /^\d+$/.test(raw) ? Number(raw) : NaN;
  return weight >= 1 && weight <= 256 ? weight : undefined;
}

/** Milliseconds of a Go duration as Consul prints it ("1s", "500ms", "1m30s"); NaN if unreadable. */
export function durationMs(text: string | undefined): number {
  const units: Record<string, number> = { h: 3_600_000, m: 60_000, s: 1000, ms: 1, us: 0.001, µs: 0.001, ns: 0.000001 };
  const parts = [...(text ?? "").matchAll(/(\d+(?:\.\d+)?)(ms|us|µs|ns|h|m|s)/g)];
  if (parts.length === 0 || parts.map((p) => p[0]).join("") !== text) return NaN;
  return Math.round(parts.reduce((sum, [, n, unit]) => sum + Number(n) * units[unit!]!, 0) * 1e6) / 1e6;
}

function sorted(record: Record<string, string>): [string, string][] {
  return Object.entries(record).sort(([a], [b]) => a.localeCompare(b));
}

function sameJson(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

export interface Registration {
  /** Resolves once the local agent's definition first equals the instance's own. */
  readonly registered: Promise<void>;
  /** Stops the loop and puts the instance in Consul maintenance, so traffic moves away. */
  enterMaintenance(reason: string, options?: CallOptions): Promise<void>;
  /** Stops the loop and removes the instance from Consul. */
  deregister(options?: CallOptions): Promise<void>;
  /** Stops the loop without touching Consul. */
  stop(): Promise<void>;
}

export interface RegistrationOptions {
  config: Config;
  consul: ConsulClient;
  log: Logger;
  /** Backoff bounds while Consul is unreachable, in ms. */
  backoff?: { initialMs: number; maxMs: number };
  /** Told the result of every pass (the service counts them in /metrics). */
  onReconcile?: (result: ReconcileResult) => void;
}

/** in_sync: the agent already held the instance's definition; mended: something was corrected. */
export type ReconcileResult = "in_sync" | "mended" | "failed";

/**
 * Keeps the local Consul agent's registration of the instance equal to the
 * instance's own definition: at start and every `resyncIntervalSeconds` it
 * reads what the agent holds and mends any difference. That covers an agent
 * that restarted empty (registers again), one that restored an older
 * definition from its data dir after a crash (a stale version in Meta, another
 * port), and stray checks an older version left.
 *
 * What an operator set is theirs and survives every resync: a weight set with
 * `agent weight N` (kept in Meta) and a maintenance (kept by the agent). Both
 * are remembered, so an agent that lost its state gets them back too. While
 * Consul is down the loop retries with jittered exponential backoff; the
 * service keeps serving meanwhile.
 *
 * @example
 * const registration = keepRegistered({ config, consul, log });
 * await registration.registered;
 * // on shutdown:
 * await registration.enterMaintenance(DRAIN_REASON);
 * await registration.deregister();
 */
export function keepRegistered({ config, consul, log, backoff = { initialMs: 250, maxMs: 10_000 }, onReconcile = () => undefined }: RegistrationOptions): Registration {
  const id = config.serviceId;
  const stopping = new AbortController();
  let resolveRegistered!: () => void;
  const registered = new Promise<void>((resolve) => (resolveRegistered = resolve));
  let reconciled = false;
  // The operator's choices as last seen on the agent.
  let weight: number | undefined;
  let maintenance: string | undefined;

  /** One pass; says whether it had to change anything on the agent. */
  async function reconcile(call: CallOptions): Promise<ReconcileResult> {
    const service = await consul.service(id, call);
    const checks = service ? await consul.checks(id, call) : [];
    const held = service ? maintenanceReason(checks) : undefined;
    if (service) {
      weight = operatorWeight(service);
      maintenance = held === DRAIN_REASON ? undefined : held;
    }
    const desired = serviceDefinition(config, weight);

    const differ = differences(desired, { service, checks });
    const strays = strayChecks(desired, checks);
    const restore = held === undefined ? maintenance : undefined;
    const clear = maintenance === undefined && held !== undefined;
    if (differ.length > 0) {
      await consul.register(desired, call);
      const msg = !reconciled ? "registered with Consul" : service ? "registration mended: the local Consul agent's definition differed" : "re-registered: the local Consul agent had lost the service";
      log.info(msg, { service_id: id, consul: consul.address, differences: differ, ...(weight === undefined ? {} : { operator_weight: weight }) });
    } else if (!reconciled) {
      log.info("registered with Consul", { service_id: id, consul: consul.address, differences: [] });
    }
    for (const checkId of strays) {
      await consul.deregisterCheck(checkId, call);
      log.info("removed a stray check", { service_id: id, check_id: checkId });
    }
    if (restore !== undefined) {
      await consul.maintenance(id, true, restore, call);
      log.info("maintenance restored", { service_id: id, reason: restore });
    } else if (clear) {
      await consul.maintenance(id, false, "", call);
      log.info("cleared a maintenance left by an earlier drain", { service_id: id });
    }
    reconciled = true;
    resolveRegistered();
    return differ.length > 0 || strays.length > 0 || restore !== undefined || clear ? "mended" : "in_sync";
  }

  async function loop(): Promise<void> {
    const call = { signal: stopping.signal };
    let delay = backoff.initialMs;
    let failures = 0;
    while (!stopping.signal.aborted) {
      try {
        onReconcile(await reconcile(call));
        if (failures > 0) log.info("Consul reachable again", { after_failures: failures });
        failures = 0;
        delay = backoff.initialMs;
        await sleep(config.consul.resyncIntervalSeconds * 1000, undefined, call);
      } catch (err) {
        if (stopping.signal.aborted) return;
        onReconcile("failed");
        failures += 1;
        // Log the first failure and then every 10th, so an outage does not flood the logs.
        if (failures === 1 || failures % 10 === 0) log.warn("Consul registration failed; retrying", { ...errorFields(err), retry_in_ms: delay, failures });
        await sleep(delay * (0.5 + Math.random() / 2), undefined, call).catch(() => undefined);
        delay = Math.min(delay * 2, backoff.maxMs);
      }
    }
  }

  const running = loop().catch((err: unknown) => log.error("registration loop crashed", errorFields(err)));
  const stop = async () => {
    stopping.abort();
    await running;
  };

  return {
    registered,
    stop,
    async enterMaintenance(reason, options) {
      await stop();
      await consul.maintenance(id, true, reason, options);
    },
    async deregister(options) {
      await stop();
      await consul.deregister(id, options);
    },
  };
}
