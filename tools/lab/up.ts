import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import type { Topology } from "../topology/types.js";
import { containersWithLabel, docker, dockerExec } from "./docker.js";
import { labHosts, labNames, type LabHost } from "./hosts.js";
import { renderInventory } from "./inventory.js";
import { repo, say, stream } from "./run.js";

/** Flags that let a container boot systemd as PID 1 like a VM (see images/README.md for why each is needed). */
const SYSTEMD_FLAGS = [
  "--cap-add", "ALL", "--cap-drop", "SYS_RESOURCE",
  "--security-opt", "seccomp=unconfined", "--security-opt", "apparmor=unconfined",
  "--tmpfs", "/run", "--tmpfs", "/run/lock",
  "-v", "/sys/fs/cgroup:/sys/fs/cgroup:rw", "--cgroupns=host",
];

/** Where the lab keeps generated files (gitignored): the inventory. */
/** The lab's Ansible inventory, written by `up`; deploy.yml's default for the `cabify` cluster (ansible.cfg). */
export const labInventory = (topology: Topology) => join(repo, ".lab", topology.cluster.name, "inventory.yml");

/**
 * Brings the whole topology up: tools and images, the internal network, one
 * systemd container per host, then Ansible's site.yml does everything else.
 */
export async function up(topology: Topology, topologyFile: string): Promise<void> {
  const started = Date.now();
  const names = labNames(topology);
  say("installing what is missing (Debian packages, npm deps, Consul) ...");
  await stream("scripts/ensure-tools.sh", []);
  say("starting the Docker engine if needed ...");
  await stream("scripts/ensure-docker.sh", []);
  say("building images (cached by content) ...");
  await stream("scripts/build-images.sh", []);
  await buildArtifacts(topology);

  await ensureNetwork(topology);
  const hosts = labHosts(topology);
  const existing = new Set(await containersWithLabel(names.label));
  for (const host of hosts) {
    if (existing.has(host.container)) {
      await docker(["start", host.container]);
      continue;
    }
    say(`starting host ${host.name} (${host.address}) as container ${host.container}`);
    if (host.group === "app") await docker(["volume", "create", "--label", names.label, names.dockerVolume(host)]);
    await docker(["run", "-d", "--name", host.container, "--hostname", host.name, "--label", names.label, "--network", names.network, "--ip", host.address, ...SYSTEMD_FLAGS, ...appHostFlags(topology, host), "cabify-host:latest"]);
  }
  await Promise.all(hosts.map((h) => waitForSystemd(h)));
  say(`all ${hosts.length} hosts booted (systemd running)`);

  const inventory = labInventory(topology);
  mkdirSync(dirname(inventory), { recursive: true });
  writeFileSync(inventory, renderInventory(topology, "docker"));
  say(`running ansible-playbook ansible/site.yml (inventory ${inventory}) ...`);
  const playbookStarted = Date.now();
  await stream("ansible-playbook", ["-i", inventory, "ansible/site.yml", "-e", `topology_file=${resolve(topologyFile)}`], { ANSIBLE_CONFIG: join(repo, "ansible/ansible.cfg") });
  say(`site.yml converged in ${Math.round((Date.now() - playbookStarted) / 1000)} s; lab up in ${Math.round((Date.now() - started) / 1000)} s`);
}

/** App hosts run their own Docker engine: it needs device access and a real filesystem (overlay2) for /var/lib/docker. */
function appHostFlags(topology: Topology, host: LabHost): string[] {
  if (host.group !== "app") return [];
  return ["--device-cgroup-rule", "a *:* rwm", "-v", `${labNames(topology).dockerVolume(host)}:/var/lib/docker`];
}

async function ensureNetwork(topology: Topology): Promise<void> {
  const { network, label } = labNames(topology);
  const found = (await docker(["network", "ls", "--filter", `name=^${network}$`, "--format", "{{.Name}}"])).trim();
  if (found) return;
  say(`creating internal network ${network} (${topology.network.subnet}, no route out)`);
  await docker(["network", "create", "--internal", "--subnet", topology.network.subnet, "--gateway", topology.network.gateway, "--label", label, network]);
}

async function waitForSystemd(host: LabHost): Promise<void> {
  for (let i = 0; i < 120; i++) {
    const state = await dockerExec(host.container, "systemctl is-system-running 2>/dev/null || true").catch(() => "");
    if (["running", "degraded"].includes(state.trim())) return;
    await sleep(500);
  }
  throw new Error(`${host.container}: systemd did not finish booting in 60 s (docker exec ${host.container} systemctl --failed)`);
}

/**
 * What Ansible ships to hosts, built here once: the service image as a
 * tarball (no registry: hosts load it) and the haproxy-consul-sync bundle.
 */
async function buildArtifacts(topology: Topology): Promise<void> {
  await stream("scripts/image-archive.sh", [topology.service.image, topology.service.version]);
  await stream("npm", ["run", "--silent", "build:sync"]);
}
