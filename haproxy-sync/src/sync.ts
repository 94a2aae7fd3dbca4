/**
 * haproxy-consul-sync: makes an HAProxy backend follow Consul's health of one
 * service, through the Runtime API (no reloads, no dropped connections).
 *
 * A blocking query on /v1/health/service/<name> wakes it within milliseconds
 * of any change; it then reads `show servers state`, plans the difference
 * (plan.ts) and applies it. Every RESYNC_SECONDS it re-applies the last known
 * view, repairing a restarted HAProxy. While Consul is unreachable it changes
 * nothing: HAProxy keeps the last known backends and its own health checks.
 */
import { setTimeout as sleep } from "node:timers/promises";
import { createConsulClient } from "../../lib/consul.js";
import { errorFields, type Logger } from "../../lib/log.js";
import { desiredFromHealth, planCommands, type Desired } from "./plan.js";
import { parseServersState, runtimeCommand } from "./runtime-api.js";

export interface SyncOptions {
  consulAddress: string;
  consulToken: string | undefined;
  service: string;
  socket: string;
  backend: string;
  resyncSeconds: number;
  log: Logger;
  signal: AbortSignal;
}

/** Applies `desired` to HAProxy; returns the commands it sent. */
export async function reconcile({ socket, backend, log }: Pick<SyncOptions, "socket" | "backend" | "log">, desired: Desired[]): Promise<string[]> {
  const slots = parseServersState(await runtimeCommand(socket, `show servers state ${backend}`));
  const { commands, unplaced } = planCommands(backend, slots, desired);
  for (const command of commands) {
    const answer = await runtimeCommand(socket, command);
    log.info("haproxy updated", { command, ...(answer ? { answer } : {}) });
  }
  if (unplaced.length > 0) log.error("no free server slot; raise haproxy_backend_slots", { unplaced: unplaced.map((d) => d.id), slots: slots.length });
  return commands;
}

/**
 * Runs until `signal` aborts.
 *
 * @example
 * await runSync({ consulAddress: "http://127.0.0.1:8500", consulToken, service: "cabify", socket: "/run/haproxy/admin.sock", backend: "be_cabify", resyncSeconds: 5, log, signal });
 */
export async function runSync(options: SyncOptions): Promise<void> {
  const { consulAddress, consulToken, service, resyncSeconds, log, signal } = options;
  const consul = createConsulClient(consulAddress, consulToken);
  let desired: Desired[] | undefined;
  // One reconcile at a time: the watch and the resync timer both trigger it.
  let queue: Promise<unknown> = Promise.resolve();
  const apply = () => {
    const view = desired;
    if (!view) return queue;
    queue = queue.then(() => reconcile(options, view)).catch((err: unknown) => log.warn("could not update HAProxy; will retry", errorFields(err)));
    return queue;
  };

  const resync = setInterval(() => void apply(), resyncSeconds * 1000);
  signal.addEventListener("abort", () => clearInterval(resync), { once: true });

  let index = "0";
  let failures = 0;
  while (!signal.aborted) {
    try {
      const result = await consul.watchHealth(service, index, 30);
      // Consul's index can go backwards (e.g. a snapshot restore): start over.
      index = BigInt(result.index) < BigInt(index) ? "0" : result.index;
      if (failures > 0) log.info("Consul reachable again", { after_failures: failures });
      failures = 0;
      desired = desiredFromHealth(result.entries);
      await apply();
    } catch (err) {
      if (signal.aborted) break;
      failures += 1;
      if (failures === 1 || failures % 10 === 0) log.warn("Consul unreachable; HAProxy keeps its last known backends", { ...errorFields(err), failures });
      // Capped at 5 s: when Consul returns, HAProxy should hear of changes soon.
      await sleep(Math.min(500 * 2 ** (failures - 1), 5000), undefined, { signal }).catch(() => undefined);
    }
  }
  await queue;
}
