import { describe, expect, it } from "vitest";
import { loadConfig } from "./config.js";

describe("loadConfig", () => {
  it("gives safe defaults for an empty environment", () => {
    const result = loadConfig({}, { version: "1.2.3" });
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.config).toMatchObject({ serviceName: "cabify", port: 8080, version: "1.2.3", bindAddress: "0.0.0.0", weight: 10 });
    expect(result.config.consul).toMatchObject({ address: "http://127.0.0.1:8500", register: true, checkIntervalSeconds: 1 });
    expect(result.config.serviceId).toMatch(/^cabify-.+-8080$/);
  });

  it("reads every variable", () => {
    const result = loadConfig({
      SERVICE_NAME: "web",
      PORT: "9000",
      ADVERTISE_ADDRESS: "10.0.0.5",
      SERVICE_TAGS: "a, b,,c",
      CONSUL_HTTP_ADDR: "consul.local:8500",
      CONSUL_HTTP_TOKEN: "secret",
      CONSUL_REGISTER: "off",
      DRAIN_TIMEOUT_SECONDS: "30",
    });
    expect(result.ok && result.config).toMatchObject({
      serviceName: "web",
      port: 9000,
      advertiseAddress: "10.0.0.5",
      tags: ["a", "b", "c"],
      consul: { address: "http://consul.local:8500", token: "secret", register: false },
      drain: { timeoutSeconds: 30 },
    });
  });

  it("collects every problem at once, naming the variable and what is expected", () => {
    const result = loadConfig({ PORT: "99999", ADVERTISE_ADDRESS: "10.0.0", CONSUL_REGISTER: "maybe", LOG_LEVEL: "loud", CONSUL_HTTP_ADDR: "ftp://x" });
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.errors.map((e) => e.variable)).toEqual(["PORT", "ADVERTISE_ADDRESS", "CONSUL_HTTP_ADDR", "CONSUL_REGISTER", "LOG_LEVEL"]);
    expect(result.errors[0]?.message).toBe('is "99999"; expected a whole decimal number from 1 to 65535');
  });

  it("rejects timing combinations that cannot work", () => {
    const result = loadConfig({ CHECK_INTERVAL_SECONDS: "1", CHECK_TIMEOUT_SECONDS: "2", DRAIN_DELAY_SECONDS: "5", DRAIN_TIMEOUT_SECONDS: "5" });
    expect(!result.ok && result.errors.map((e) => e.variable)).toEqual(["CHECK_TIMEOUT_SECONDS", "DRAIN_DELAY_SECONDS"]);
  });

  it.each([
    ["PORT", "0x4C6D"],
    ["PORT", "1e3"],
    ["PORT", "80.0"],
    ["PORT", "+80"],
    ["SERVICE_WEIGHT", "1e2"],
    ["SERVICE_WEIGHT", "0b11"],
    ["DRAIN_TIMEOUT_SECONDS", "Infinity"],
    ["DRAIN_TIMEOUT_SECONDS", "1e1"],
    ["CHECK_INTERVAL_SECONDS", "-1"],
  ])("accepts only plain decimal numbers: %s=%s is an error", (variable, value) => {
    const result = loadConfig({ [variable]: value });
    expect(!result.ok && result.errors).toEqual([{ variable, message: expect.stringContaining(`is "${value}"; expected a `) as string }]);
  });

  it("accepts decimal fractions where seconds are meant", () => {
    const result = loadConfig({ DRAIN_DELAY_SECONDS: "0.5", CHECK_INTERVAL_SECONDS: "2.25" });
    expect(result.ok && result.config.drain.delaySeconds).toBe(0.5);
    expect(result.ok && result.config.consul.checkIntervalSeconds).toBe(2.25);
  });

  it("rejects a variable that is set but empty, naming it, instead of silently using the default", () => {
    const result = loadConfig({ CONSUL_HTTP_ADDR: "", PORT: "  ", CONSUL_HTTP_TOKEN: "" });
    expect(!result.ok && result.errors.map((e) => e.variable)).toEqual(["PORT", "CONSUL_HTTP_ADDR", "CONSUL_HTTP_TOKEN"]);
    expect(!result.ok && result.errors[0]?.message).toMatch(/set but empty/);
  });
});
