/**
 * `npm run lab -- <command> [--topology FILE]`: the container lab.
 *   up         (the default) bring every host of the topology up and provision it with ansible/site.yml, then curl the VIP
 *   status     hosts, Consul members and leader, VIP holder, HAProxy backends on both LBs
 *   curl [N]   N requests (default 20) to the VIP from a client container on the lab network
 *   inventory  print the Ansible inventory (--ssh: for real hosts / VMs instead of containers)
 *   down       remove every container, volume and network the lab made
 * Exit codes: 0 done, 1 failed, 2 bad usage or invalid topology.
 */
import { parseArgs } from "node:util";
import { formatErrors } from "../topology/format.js";
import { loadTopology, UnreadableError } from "../topology/load.js";
import type { Topology } from "../topology/types.js";
import { docker } from "./docker.js";
import { down } from "./down.js";
import { labNames } from "./hosts.js";
import { renderInventory } from "./inventory.js";
import { say } from "./run.js";
import { CONSUL_HTTPS_PORT, clusterCaFile } from "./consul-https.js";
import { formatStatus, readStatus, secretsDir } from "./status.js";
import { up } from "./up.js";

const USAGE = "usage: npm run lab -- up|status|curl [N]|inventory [--ssh]|down [--topology FILE]";

/** Requests to the VIP from inside the lab network, as a client of the service would make them. */
async function curlVip(topology: Topology, count: number): Promise<string[]> {
  const url = `http://${topology.vip.address}:${topology.load_balancers.frontend_port}/status`;
  const script = `for i in $(seq 1 ${count}); do curl -s -m 2 ${url} || printf FAILED; echo; done`;
  const out = await docker(["run", "--rm", "--name", labNames(topology).client, "--network", labNames(topology).network, "--entrypoint", "sh", "cabify-host:latest", "-c", script]);
  return out.split("\n").filter(Boolean);
}

async function main(): Promise<number> {
  const { values, positionals } = parseArgs({ allowPositionals: true, options: { topology: { type: "string", default: "configs/topology.yml" }, ssh: { type: "boolean" }, help: { type: "boolean", short: "h" } } });
  // Plain `npm run lab` brings the lab up: the README's first command.
  const [command = "up", arg] = positionals;
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const file = values.topology;
  let loaded;
  try {
    loaded = await loadTopology(file);
  } catch (err) {
    if (err instanceof UnreadableError) {
      process.stderr.write(`lab: ${err.message}\n`);
      return 2;
    }
    throw err;
  }
  if (!loaded.ok) {
    process.stderr.write(`${formatErrors(file, loaded.errors)}\nlab: fix the topology first (npm run validate -- ${file})\n`);
    return 2;
  }
  const topology = loaded.topology;

  switch (command) {
    case "up": {
      await up(topology, file);
      const answers = await curlVip(topology, 20);
      say(`20 requests to http://${topology.vip.address}/status from ${labNames(topology).client}:`);
      for (const line of answers) process.stdout.write(`  ${line}\n`);
      const lb = topology.load_balancers;
      say("where to look (from this machine, which reaches the lab network directly):");
      say(`  the service:   curl http://${topology.vip.address}:${lb.frontend_port}/status`);
      say(`  over HTTPS:    curl --cacert ${clusterCaFile(topology)} https://${topology.vip.address}/status`);
      say(`  HAProxy stats: ${lb.nodes.map((n) => `https://${n.address}:${lb.stats_port}/stats`).join("  ")}  (user admin, password in ${secretsDir(topology)}/haproxy-stats.password)`);
      say(`  Prometheus:    https://${lb.nodes[0]!.address}:${lb.stats_port}/metrics  and  http://${topology.app.hosts[0]!.address}:${topology.service.port}/metrics`);
      say(`  Consul UI:     https://${topology.consul.servers[0]!.address}:${CONSUL_HTTPS_PORT}/ui  (token: ${secretsDir(topology)}/consul-management.token)`);
      say(`  (certificates are from the cluster CA: ${clusterCaFile(topology)})`);
      say("  npm run lab -- status");
      return answers.some((a) => a.startsWith("OK from ")) ? 0 : 1;
    }
    case "status":
      process.stdout.write(`${formatStatus(topology, await readStatus(topology))}\n`);
      return 0;
    case "curl": {
      const answers = await curlVip(topology, Number(arg ?? "20") || 20);
      for (const line of answers) process.stdout.write(`${line}\n`);
      return answers.every((a) => a.startsWith("OK from ")) ? 0 : 1;
    }
    case "inventory":
      process.stdout.write(renderInventory(topology, values.ssh ? "ssh" : "docker"));
      return 0;
    case "down":
      await down(topology);
      return 0;
    default:
      process.stderr.write(`lab: unknown command "${command}"\n${USAGE}\n`);
      return 2;
  }
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`lab: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  },
);
