import { describe, expect, it } from "vitest";
import { loadConfig } from "../config.js";
import type { AgentCheck, AgentService } from "../../../lib/consul.js";
import { DRAIN_REASON, differences, durationMs, maintenanceReason, operatorWeight, serviceDefinition, strayChecks } from "./registration.js";

describe("serviceDefinition", () => {
  const loaded = loadConfig({ ADVERTISE_ADDRESS: "10.77.0.32", PORT: "8080", SERVICE_ID: "cabify-app-2-8080", SERVICE_TAGS: "blue" }, { version: "0.2.0" });
  if (!loaded.ok) throw new Error("bad test config");

  it("describes the instance the way HAProxy and operators need it", () => {
    expect(serviceDefinition(loaded.config)).toEqual({
      ID: "cabify-app-2-8080",
      Name: "cabify",
      Address: "10.77.0.32",
      Port: 8080,
      Tags: ["blue"],
      Meta: { version: "0.2.0", instance: "cabify-app-2-8080" },
      Weights: { Passing: 10, Warning: 1 },
      Check: {
        CheckID: "cabify-app-2-8080:readyz",
        Name: "cabify readiness",
        HTTP: "http://10.77.0.32:8080/readyz",
        Method: "GET",
        Interval: "1s",
        Timeout: "1s",
        DeregisterCriticalServiceAfter: "60s",
      },
    });
  });

  it("takes an operator's weight and records it in Meta, so a resync can tell it from the configured one", () => {
    const def = serviceDefinition(loaded.config, 3);
    expect(def.Weights).toEqual({ Passing: 3, Warning: 1 });
    expect(def.Meta).toEqual({ version: "0.2.0", instance: "cabify-app-2-8080", operator_weight: "3" });
  });
});

describe("differences between the agent's registration and the instance's own", () => {
  const loaded = loadConfig({ ADVERTISE_ADDRESS: "10.77.0.32", PORT: "8080", SERVICE_ID: "cabify-app-2-8080", CHECK_INTERVAL_SECONDS: "0.5", CHECK_TIMEOUT_SECONDS: "0.5" }, { version: "0.2.0" });
  if (!loaded.ok) throw new Error("bad test config");
  const desired = serviceDefinition(loaded.config);
  // What the agent echoes back for `desired`, as captured from Consul 1.14.
  const agentService = (): AgentService => ({ ID: desired.ID, Service: "cabify", Address: "10.77.0.32", Port: 8080, Tags: [], Meta: { instance: "cabify-app-2-8080", version: "0.2.0" }, Weights: { Passing: 10, Warning: 1 } });
  const check = (over: Partial<AgentCheck> = {}): AgentCheck => ({ CheckID: desired.Check.CheckID, Name: "cabify readiness", Status: "passing", Output: "", Notes: "", ServiceID: desired.ID, Type: "http", Interval: "500ms", Timeout: "500ms", ...over });

  it("finds none when the agent holds what the instance would register (durations in Consul's spelling)", () => {
    expect(differences(desired, { service: agentService(), checks: [check()] })).toEqual([]);
  });

  it("names each field that differs: a stale version after a crash, another port, weights, a changed check", () => {
    const stale = { ...agentService(), Port: 8081, Meta: { instance: "cabify-app-2-8080", version: "0.1.0" }, Weights: { Passing: 3, Warning: 1 } };
    expect(differences(desired, { service: stale, checks: [check({ Interval: "1s" })] })).toEqual(["port", "meta", "weights", "check"]);
  });

  it("asks for a registration when the agent does not know the service, and for the check when it is missing", () => {
    expect(differences(desired, { service: undefined, checks: [] })).toEqual(["registration"]);
    expect(differences(desired, { service: agentService(), checks: [] })).toEqual(["check"]);
  });

  it("lists stray checks but never the readiness or the maintenance check", () => {
    const checks = [check(), check({ CheckID: "_service_maintenance:cabify-app-2-8080", Type: "maintenance" }), check({ CheckID: "cabify-app-2-8080:old-tcp" })];
    expect(strayChecks(desired, checks)).toEqual(["cabify-app-2-8080:old-tcp"]);
  });

  it("reads the maintenance reason and the operator's weight", () => {
    expect(maintenanceReason([check({ CheckID: "_service_maintenance:x", Notes: DRAIN_REASON })])).toBe(DRAIN_REASON);
    expect(maintenanceReason([check()])).toBeUndefined();
    expect(operatorWeight({ ...agentService(), Meta: { operator_weight: "5" } })).toBe(5);
    expect(operatorWeight({ ...agentService(), Meta: { operator_weight: "0x5" } })).toBeUndefined();
    expect(operatorWeight(agentService())).toBeUndefined();
  });
});

describe("durationMs reads Go durations as Consul prints them", () => {
  it.each([
    ["1s", 1000],
    ["500ms", 500],
    ["1m30s", 90_000],
    ["1.5s", 1500],
    ["2h", 7_200_000],
    ["250us", 0.25],
  ])("%s = %d ms", (text, ms) => expect(durationMs(text)).toBe(ms));

  it.each(["", "1", "s", "1x", "1s junk"])("%j is unreadable", (text) => expect(durationMs(text)).toBeNaN());
});
