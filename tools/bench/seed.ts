import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { docker } from "../lab/docker.js";
import { labNames } from "../lab/hosts.js";
import type { Topology } from "../topology/types.js";

const IMAGE = "cabify-seed:bookworm";
const repo = join(import.meta.dirname, "../..");

/** The last usable address of the lab's subnet: no lab host is placed there by the example topologies. */
export function seedAddress(topology: Topology): string {
  const [base, bits] = topology.network.subnet.split("/");
  const value = base!.split(".").reduce((n, octet) => n * 256 + Number(octet), 0);
  const last = value + 2 ** (32 - Number(bits)) - 2;
  return [24, 16, 8, 0].map((shift) => Math.floor(last / 2 ** shift) % 256).join(".");
}

/**
 * Starts the seed stack (images/seed: two bottle instances behind one HAProxy)
 * as a container on the lab's network, labelled as part of the lab so
 * `npm run lab -- down` removes it too. Returns its /status URL once it answers.
 */
export async function startSeed(topology: Topology, say: (line: string) => void): Promise<string> {
  const names = labNames(topology);
  const container = `${topology.cluster.name}-bench-seed`;
  const address = seedAddress(topology);
  if (topology.app.hosts.some((h) => h.address === address) || topology.load_balancers.nodes.some((n) => n.address === address)) {
    throw new Error(`the seed's address ${address} is taken by a lab host; free the subnet's last address`);
  }
  say(`building ${IMAGE} (images/seed; cached after the first time) ...`);
  // DOCKER_BUILDKIT=0: the buildx plugin is not installed (as in scripts/build-images.sh).
  await docker(["build", "-q", "-t", IMAGE, join(repo, "images/seed")], "", { DOCKER_BUILDKIT: "0" });
  await stopSeed(topology);
  await docker(["run", "-d", "--name", container, "--label", names.label, "--network", names.network, "--ip", address, IMAGE]);
  const url = `http://${address}/status`;
  for (let i = 0; i < 100; i++) {
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(500) });
      if (res.ok) return url;
    } catch {
      // not up yet
    }
    await sleep(100);
  }
  throw new Error(`the seed stack at ${url} did not answer within 10 s`);
}

export async function stopSeed(topology: Topology): Promise<void> {
  await docker(["rm", "-f", `${topology.cluster.name}-bench-seed`]).catch(() => undefined);
}
