/**
 * Operator and Ansible interface to the registration agent. It reads the same
 * environment as the service (run it with `docker exec` in the service's
 * container, or as a sidecar with the same variables), so the service ID and
 * definition it computes are the ones the service uses.
 *
 *   npm run agent -- register | deregister | status [--json]
 *   npm run agent -- maint on|off [--reason TEXT]
 *   npm run agent -- weight N
 *   npm run agent -- run          # sidecar: keep registered until SIGTERM
 *
 * Exit codes: 0 done, 1 Consul refused or could not be reached, 2 bad usage or configuration.
 */
import { parseArgs } from "node:util";
import { loadConfig, type Config } from "../config.js";
import { createLogger } from "../../../lib/log.js";
import { packageVersion } from "../version.js";
import { ConsulError, createConsulClient, type ConsulClient } from "../../../lib/consul.js";
import { keepRegistered, maintenanceReason, operatorWeight, serviceDefinition } from "./registration.js";

const USAGE = `usage: npm run agent -- <command>
  register                 register this instance with the local Consul agent
  deregister               remove it
  maint on|off [--reason]  put it in / take it out of Consul maintenance (drain)
  weight N|default         set Consul weight N (1-256), kept across resyncs and
                           restarts until "weight default" (SERVICE_WEIGHT) again
  status [--json]          show the registration and its checks
  run                      keep it registered until SIGTERM (sidecar mode)
configuration: the service's environment (SERVICE_NAME, PORT, ADVERTISE_ADDRESS,
CONSUL_HTTP_ADDR, CONSUL_HTTP_TOKEN, ...)`;

class UsageError extends Error {}

async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { reason: { type: "string" }, json: { type: "boolean" }, help: { type: "boolean", short: "h" } },
  });
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const [command, arg] = positionals;
  if (!command) throw new UsageError("a command is required");

  const loaded = loadConfig(process.env, { version: packageVersion() });
  if (!loaded.ok) {
    for (const e of loaded.errors) process.stderr.write(`agent: configuration error: ${e.variable} ${e.message}\n`);
    return 2;
  }
  const config = loaded.config;
  const consul = createConsulClient(config.consul.address, config.consul.token);
  const say = (line: string) => process.stdout.write(`${line}\n`);

  switch (command) {
    case "register":
      // Keeps a weight the operator set earlier, as the service itself would.
      await consul.register(serviceDefinition(config, operatorWeight(await consul.service(config.serviceId))));
      say(`registered ${config.serviceId} (${config.advertiseAddress}:${config.port}) with ${consul.address}`);
      return 0;
    case "deregister":
      await consul.deregister(config.serviceId);
      say(`deregistered ${config.serviceId}`);
      return 0;
    case "maint": {
      if (arg !== "on" && arg !== "off") throw new UsageError("maint takes on or off");
      await consul.maintenance(config.serviceId, arg === "on", values.reason ?? `set by operator via agent CLI`);
      say(`maintenance ${arg} for ${config.serviceId}`);
      return 0;
    }
    case "weight": {
      if (arg === "default") {
        await consul.register(serviceDefinition(config));
        say(`weight of ${config.serviceId} is back to the configured ${config.weight}`);
        return 0;
      }
      const weight = /^\d+$/.test(arg ?? "") ? Number(arg) : NaN;
      if (!(weight >= 1 && weight <= 256)) throw new UsageError(`weight takes a whole number from 1 to 256 or "default", got "${arg ?? ""}"`);
      await consul.register(serviceDefinition(config, weight));
      say(`weight of ${config.serviceId} is now ${weight} (kept until "weight default")`);
      return 0;
    }
    case "status":
      return status(config, consul, values.json ?? false);
    case "run":
      return sidecar(config, consul);
    default:
      throw new UsageError(`unknown command "${command}"`);
  }
}

/** Exit 0 when registered and every check passes, 1 otherwise, so scripts can wait on it. */
async function status(config: Config, consul: ConsulClient, json: boolean): Promise<number> {
  const service = await consul.service(config.serviceId);
  const checks = service ? await consul.checks(config.serviceId) : [];
  const reason = maintenanceReason(checks);
  const maintenance = reason !== undefined;
  const healthy = service !== undefined && checks.length > 0 && checks.every((c) => c.Status === "passing");
  if (json) {
    process.stdout.write(`${JSON.stringify({ id: config.serviceId, registered: service !== undefined, healthy, maintenance, service: service ?? null, checks })}\n`);
    return healthy ? 0 : 1;
  }
  if (!service) {
    process.stdout.write(`${config.serviceId}: not registered with ${consul.address}\n`);
    return 1;
  }
  const lines = [
    `service    ${service.ID} (${service.Service}) at ${service.Address}:${service.Port}`,
    `version    ${service.Meta?.version ?? "?"}`,
    `weights    passing=${service.Weights.Passing} warning=${service.Weights.Warning}${operatorWeight(service) === undefined ? "" : " (set by an operator)"}`,
    `maint      ${maintenance ? `on (${reason})` : "off"}`,
    ...checks.map((c) => `check      ${c.Status.padEnd(8)} ${c.Name}${c.Output ? ` — ${c.Output.trim().split("\n")[0]}` : ""}`),
  ];
  process.stdout.write(`${lines.join("\n")}\n`);
  return healthy ? 0 : 1;
}

/** Sidecar mode: the same loop the service runs in-process, deregistering on SIGTERM/SIGINT. */
async function sidecar(config: Config, consul: ConsulClient): Promise<number> {
  const log = createLogger(config.logLevel, { service: config.serviceName, instance: config.serviceId, role: "agent" });
  const registration = keepRegistered({ config, consul, log });
  const signal = await new Promise<NodeJS.Signals>((resolve) => {
    process.once("SIGTERM", () => resolve("SIGTERM"));
    process.once("SIGINT", () => resolve("SIGINT"));
  });
  log.info("signal received; deregistering", { signal });
  await registration.deregister();
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    if (err instanceof UsageError || (err instanceof TypeError && "code" in err && String(err.code).startsWith("ERR_PARSE_ARGS"))) {
      process.stderr.write(`agent: ${err.message}\n${USAGE}\n`);
      process.exit(2);
    }
    process.stderr.write(`agent: ${err instanceof ConsulError ? err.message : String(err)}\n`);
    process.exit(1);
  },
);
