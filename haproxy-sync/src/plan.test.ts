import { describe, expect, it } from "vitest";
import type { HealthEntry } from "../../lib/consul.js";
import { desiredFromHealth, planCommands, type Desired, type Slot } from "./plan.js";

const empty = (n: number): Slot => ({ name: `app${n}`, addr: "0.0.0.0", port: 8080, weight: 1, state: "maint" });
const want = (last: number, extra: Partial<Desired> = {}): Desired => ({ id: `cabify-app-${last}`, addr: `10.77.0.${last}`, port: 8080, weight: 10, state: "ready", ...extra });

function entry(id: string, addr: string, checks: [string, HealthEntry["Checks"][number]["Status"]][], weights = { Passing: 10, Warning: 1 }): HealthEntry {
  return {
    Node: { Node: "n", Address: "10.77.0.99" },
    Service: { ID: id, Service: "cabify", Address: addr, Port: 8080, Tags: [], Meta: {}, Weights: weights },
    Checks: checks.map(([CheckID, Status]) => ({ CheckID, Status, Name: CheckID, Output: "", ServiceID: id })),
  };
}

describe("desiredFromHealth", () => {
  it("maps Consul health onto HAProxy admin states and weights", () => {
    const desired = desiredFromHealth([
      entry("c", "10.77.0.33", [["serfHealth", "passing"], ["c:readyz", "critical"]]),
      entry("a", "10.77.0.31", [["serfHealth", "passing"], ["a:readyz", "passing"]]),
      entry("b", "10.77.0.32", [["a:readyz", "critical"], ["_service_maintenance:b", "critical"]]),
      entry("d", "", [["d:readyz", "warning"]]),
    ]);
    expect(desired).toEqual([
      { id: "a", addr: "10.77.0.31", port: 8080, weight: 10, state: "ready" },
      { id: "b", addr: "10.77.0.32", port: 8080, weight: 10, state: "drain" },
      { id: "c", addr: "10.77.0.33", port: 8080, weight: 10, state: "maint" },
      // No service address: Consul's convention is the node's address.
      { id: "d", addr: "10.77.0.99", port: 8080, weight: 1, state: "ready" },
    ]);
  });
});

describe("planCommands", () => {
  it("fills free slots for new instances", () => {
    expect(planCommands("be_cabify", [empty(1), empty(2)], [want(31)]).commands).toEqual([
      "set server be_cabify/app1 addr 10.77.0.31 port 8080",
      "set server be_cabify/app1 weight 10",
      "set server be_cabify/app1 state ready",
    ]);
  });

  it("changes nothing when HAProxy already matches Consul", () => {
    const slots: Slot[] = [{ name: "app1", addr: "10.77.0.31", port: 8080, weight: 10, state: "ready" }, empty(2)];
    expect(planCommands("be_cabify", slots, [want(31)]).commands).toEqual([]);
  });

  it("keeps an instance in its slot while its state or weight changes", () => {
    const slots: Slot[] = [empty(1), { name: "app2", addr: "10.77.0.31", port: 8080, weight: 10, state: "ready" }];
    expect(planCommands("be_cabify", slots, [want(31, { state: "drain", weight: 3 })]).commands).toEqual([
      "set server be_cabify/app2 weight 3",
      "set server be_cabify/app2 state drain",
    ]);
  });

  it("puts slots of instances that left Consul into maintenance", () => {
    const slots: Slot[] = [{ name: "app1", addr: "10.77.0.31", port: 8080, weight: 10, state: "ready" }];
    expect(planCommands("be_cabify", slots, []).commands).toEqual(["set server be_cabify/app1 state maint"]);
  });

  it("reuses a slot of a departed instance, taking it out of service before re-addressing", () => {
    const slots: Slot[] = [{ name: "app1", addr: "10.77.0.31", port: 8080, weight: 10, state: "drain" }];
    expect(planCommands("be_cabify", slots, [want(32)]).commands).toEqual([
      "set server be_cabify/app1 state maint",
      "set server be_cabify/app1 addr 10.77.0.32 port 8080",
      "set server be_cabify/app1 state ready",
    ]);
  });

  it("reports instances that do not fit instead of dropping them silently", () => {
    const plan = planCommands("be_cabify", [empty(1)], [want(31), want(32)]);
    expect(plan.unplaced.map((d) => d.id)).toEqual(["cabify-app-32"]);
  });
});
