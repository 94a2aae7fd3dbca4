import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { loadTopology } from "../topology/load.js";
import type { Topology } from "../topology/types.js";
import { EMULATED_TIMINGS, renderVagrantInventory, vagrantPlan, VM_DEFAULTS } from "./plan.js";

type Hosts = Record<string, Record<string, unknown>>;
/** The parts of a rendered inventory these tests read. */
interface Inventory {
  all: { vars: Record<string, unknown>; children: { consul_servers: { hosts: Hosts }; consul_clients: { children: { lb: { hosts: Hosts }; app: { hosts: Hosts } } } } };
}

async function topology(file: string): Promise<Topology> {
  const result = await loadTopology(file);
  if (!result.ok) throw new Error(`${file} is invalid`);
  return result.topology;
}

describe("vagrantPlan", () => {
  it("makes one VM per host, Consul servers first, sized by the defaults when the topology says nothing", async () => {
    const plan = vagrantPlan(await topology("configs/topology.yml"), "configs/topology.yml");
    expect(plan.vms.map((vm) => vm.name)).toEqual(["consul-1", "consul-2", "consul-3", "lb-1", "lb-2", "app-1", "app-2", "app-3"]);
    expect(plan.vms[3]).toEqual({ name: "lb-1", address: "10.77.0.21", group: "lb", memory_mb: VM_DEFAULTS.memory_mb, cpus: VM_DEFAULTS.cpus });
    expect(plan.network).toEqual({ name: "cabify-net", subnet: "10.77.0.0/24", gateway: "10.77.0.1" });
    expect(plan.management).toEqual({ name: "cabify-vagrant", subnet: VM_DEFAULTS.management_subnet });
    expect(plan.topology_file).toMatch(/^\/.*\/configs\/topology\.yml$/);
  });

  it("takes sizes and the management subnet from the topology's vms section", async () => {
    const plan = vagrantPlan(await topology("tests/vagrant/topology.yml"), "tests/vagrant/topology.yml");
    expect(plan.vms).toHaveLength(7);
    expect(plan.management.subnet).toBe("192.168.123.0/24");
    expect(plan.inventory).toMatch(/\.vagrant\/cabify-ha\/cabify-vm\/inventory\.yml$/);
    expect(plan.known_hosts).toMatch(/\.vagrant\/cabify-ha\/cabify-vm\/known_hosts$/);
  });
});

describe("renderVagrantInventory", () => {
  it("gives every host Vagrant's SSH user and key, and localhost none of it", async () => {
    const inventory = parse(renderVagrantInventory(await topology("tests/vagrant/topology.yml"), "/k/insecure_private_key", false)) as Inventory;
    expect(inventory.all.vars).toEqual({ ansible_connection: "ssh", ansible_python_interpreter: "/usr/bin/python3" });
    const lb1 = inventory.all.children.consul_clients.children.lb.hosts["lb-1"];
    expect(lb1).toMatchObject({ ansible_host: "10.79.0.21", node_address: "10.79.0.21", ansible_user: "vagrant", ansible_become: true, ansible_ssh_private_key_file: "/k/insecure_private_key" });
    expect(lb1).not.toHaveProperty("keepalived_check_interval");
  });

  it("checks host keys against the cluster's own known_hosts, which site.yml fills at first contact", async () => {
    const inventory = parse(renderVagrantInventory(await topology("tests/vagrant/topology.yml"), "/k", false)) as Inventory;
    const app1 = inventory.all.children.consul_clients.children.app.hosts["app-1"]!;
    const file = app1["ssh_known_hosts_file"] as string;
    expect(file).toMatch(/\.vagrant\/cabify-ha\/cabify-vm\/known_hosts$/);
    expect(app1["ansible_ssh_common_args"]).toBe(`-o UserKnownHostsFile=${file}`);
    // Nothing that would switch checking off.
    expect(JSON.stringify(inventory)).not.toMatch(/StrictHostKeyChecking|\/dev\/null/);
  });

  it("adds the slower health-check timings only for emulated VMs", async () => {
    const inventory = parse(renderVagrantInventory(await topology("tests/vagrant/topology.yml"), "/k", true)) as Inventory;
    expect(inventory.all.children.consul_servers.hosts["consul-2"]).toMatchObject(EMULATED_TIMINGS);
  });
});
