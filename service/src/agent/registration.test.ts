import { describe, expect, it } from "vitest";
import { loadConfig } from "../config.js";
import { serviceDefinition } from "./registration.js";

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

  it("takes a weight override for the operator's `weight N`", () => {
    expect(serviceDefinition(loaded.config, 3).Weights).toEqual({ Passing: 3, Warning: 1 });
  });
});
