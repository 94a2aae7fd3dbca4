import type { HealthEntry } from "../../lib/consul.js";

/** What HAProxy should do with one instance. */
export type AdminState = "ready" | "drain" | "maint";

export interface Desired {
  id: string;
  addr: string;
  port: number;
  weight: number;
  state: AdminState;
}

/** One `server-template` slot as `show servers state` reports it. */
export interface Slot {
  name: string;
  addr: string;
  port: number;
  weight: number;
  state: AdminState;
}

/**
 * Consul's health → what HAProxy should do:
 * - maintenance (the operator's or the drain's `_service_maintenance:` check) → `drain`:
 *   no new requests, in-flight ones finish;
 * - any other critical check → `maint`: Consul says it cannot serve;
 * - passing → `ready` at the passing weight; warning → `ready` at the warning weight.
 *
 * @example
 * desiredFromHealth(await consul.health("cabify")) // [{ id, addr: "10.77.0.31", port: 8080, weight: 10, state: "ready" }]
 */
export function desiredFromHealth(entries: HealthEntry[]): Desired[] {
  return entries
    .map(({ Service, Node, Checks }) => {
      const inMaintenance = Checks.some((c) => c.CheckID.startsWith("_service_maintenance:") || c.CheckID === "_node_maintenance");
      const critical = Checks.some((c) => c.Status === "critical");
      const warning = Checks.some((c) => c.Status === "warning");
      const state: AdminState = inMaintenance ? "drain" : critical ? "maint" : "ready";
      return {
        id: Service.ID,
        addr: Service.Address || Node.Address,
        port: Service.Port,
        weight: warning ? Service.Weights.Warning : Service.Weights.Passing,
        state,
      };
    })
    .sort((a, b) => a.id.localeCompare(b.id));
}

export interface Plan {
  commands: string[];
  /** Instances that found no free slot: the backend needs more `server-template` slots. */
  unplaced: Desired[];
}

/**
 * The Runtime API commands that turn `slots` into `desired`, and nothing
 * more: an instance keeps the slot that already has its address (so its
 * connections, counters and slow-start ramp stay), a new one takes a free
 * slot, and slots nobody wants go to maintenance.
 *
 * @example
 * planCommands("be_cabify", slots, desired).commands
 * // ["set server be_cabify/app2 addr 10.77.0.32 port 8080", "set server be_cabify/app2 weight 10", "set server be_cabify/app2 state ready"]
 */
export function planCommands(backend: string, slots: Slot[], desired: Desired[]): Plan {
  const endpoint = (x: { addr: string; port: number }) => `${x.addr}:${x.port}`;
  const bySlotEndpoint = new Map(slots.map((s) => [endpoint(s), s]));
  const assigned = new Map<Slot, Desired>();
  const waiting: Desired[] = [];
  for (const d of desired) {
    const slot = bySlotEndpoint.get(endpoint(d));
    if (slot && !assigned.has(slot)) assigned.set(slot, d);
    else waiting.push(d);
  }
  const free = slots.filter((s) => !assigned.has(s));
  const unplaced: Desired[] = [];
  for (const d of waiting) {
    const slot = free.shift();
    if (slot) assigned.set(slot, d);
    else unplaced.push(d);
  }

  const commands: string[] = [];
  const set = (slot: Slot, what: string) => commands.push(`set server ${backend}/${slot.name} ${what}`);
  for (const slot of slots) {
    const d = assigned.get(slot);
    if (!d) {
      if (slot.state !== "maint") set(slot, "state maint");
      continue;
    }
    if (endpoint(slot) !== endpoint(d)) {
      // Re-addressing a live slot would move its connections' accounting to a stranger.
      if (slot.state !== "maint") set(slot, "state maint");
      set(slot, `addr ${d.addr} port ${d.port}`);
    }
    if (slot.weight !== d.weight) set(slot, `weight ${d.weight}`);
    if (slot.state !== d.state || endpoint(slot) !== endpoint(d)) set(slot, `state ${d.state}`);
  }
  return { commands, unplaced };
}
