import type { Topology } from "../topology/types.js";
import { containersWithLabel, docker } from "./docker.js";
import { labNames } from "./hosts.js";
import { say } from "./run.js";

/** Removes every container, volume and the network the lab made (found by label, so nothing else is touched). */
export async function down(topology: Topology): Promise<void> {
  const { network, label, client } = labNames(topology);
  const containers = await containersWithLabel(label);
  if (containers.length > 0) {
    say(`removing ${containers.length} containers`);
    await docker(["rm", "-f", "-v", ...containers]);
  }
  await docker(["rm", "-f", client]).catch(() => undefined);
  const volumes = (await docker(["volume", "ls", "-q", "--filter", `label=${label}`])).split("\n").filter(Boolean);
  if (volumes.length > 0) {
    say(`removing ${volumes.length} volumes`);
    await docker(["volume", "rm", "-f", ...volumes]);
  }
  if ((await docker(["network", "ls", "-q", "--filter", `name=^${network}$`])).trim()) {
    say(`removing network ${network}`);
    await docker(["network", "rm", network]);
  }
  say("lab is down");
}
