/**
 * The Vagrantfile's view of a topology, validated first:
 *   node --import tsx tools/vagrant/plan-cli.ts <topology> --ssh-key <file> [--emulated]
 * prints the plan (tools/vagrant/plan.ts) as one JSON object on stdout and
 * writes the VMs' Ansible inventory. An invalid topology prints the
 * validator's file:line messages on stderr and exits 1, which stops
 * `vagrant up` before any VM is touched.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import { parseArgs } from "node:util";
import { formatErrors } from "../topology/format.js";
import { loadTopology } from "../topology/load.js";
import { renderVagrantInventory, vagrantPlan } from "./plan.js";

async function main(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args, allowPositionals: true, options: { "ssh-key": { type: "string" }, emulated: { type: "boolean" } } });
  const file = positionals[0];
  const key = values["ssh-key"];
  if (!file || !key) {
    console.error("usage: node --import tsx tools/vagrant/plan-cli.ts <topology> --ssh-key <file> [--emulated]");
    return 2;
  }
  const result = await loadTopology(file);
  if (!result.ok) {
    console.error(formatErrors(file, result.errors));
    return 1;
  }
  const plan = vagrantPlan(result.topology, file);
  mkdirSync(dirname(plan.inventory), { recursive: true });
  writeFileSync(plan.inventory, renderVagrantInventory(result.topology, key, values.emulated ?? false));
  console.log(JSON.stringify(plan));
  return 0;
}

process.exitCode = await main(process.argv.slice(2));
