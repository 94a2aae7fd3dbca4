/**
 * `npm run demo`: the foundation on this machine alone, no containers — a
 * 3-server Consul quorum and two cabify instances on loopback, each
 * registered with its own Consul client agent. Prints what answers, then
 * waits for Ctrl-C (or exits at once with --once) and cleans everything up.
 */
import { createConsulClient } from "../../lib/consul.js";
import { startConsulCluster } from "./consul.js";
import { startService } from "./service.js";
import { waitFor } from "./wait.js";

const once = process.argv.includes("--once");
const say = (line = "") => process.stdout.write(`${line}\n`);

say("starting 3 Consul servers and 2 client agents on loopback ...");
const cluster = await startConsulCluster({ clients: 2 });
const stop = async () => {
  await Promise.all(services.map((s) => (s.signal("SIGTERM"), s.exit)));
  await cluster.stop();
};
const services = await Promise.all(
  cluster.clients.map((client, i) => startService({ ip: `${cluster.subnet}.${31 + i}`, port: 8080, consulHttp: client.http, env: { DEBUG_ROUTES: "false" } })),
);
try {
  const consul = createConsulClient(cluster.servers[0]!.http);
  await waitFor("both instances passing in Consul", async () => (await consul.health("cabify", true)).length === services.length);
  say(`leader: ${(await cluster.leader()).name}`);
  for (const entry of await consul.health("cabify")) {
    say(`consul: ${entry.Service.ID} at ${entry.Service.Address}:${entry.Service.Port} on ${entry.Node.Node}: ${entry.Checks.map((c) => c.Status).join("/")}`);
  }
  for (const svc of services) say(`curl ${svc.url}/status -> ${await (await fetch(`${svc.url}/status`)).text()}`);
  say();
  say(`Consul UI: ${cluster.servers[0]!.http}/ui   metrics: ${services[0]!.url}/metrics`);
  say(`try: CONSUL_HTTP_ADDR=${cluster.clients[0]!.http} SERVICE_ID=${services[0]!.serviceId} ADVERTISE_ADDRESS=${cluster.subnet}.31 npm run agent -- status`);
  if (!once) {
    say("press Ctrl-C to stop");
    await new Promise((resolve) => process.once("SIGINT", resolve));
  }
} finally {
  say("stopping ...");
  await stop();
}
