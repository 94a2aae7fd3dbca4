import { spawn } from "node:child_process";
import { describe, expect, it } from "vitest";
import { createConsulClient } from "../../lib/consul.js";
import { DRAIN_REASON } from "../../service/src/agent/registration.js";
import { packageVersion } from "../../service/src/version.js";
import { exited } from "../../tools/loopback/processes.js";
import type { ServiceProcess } from "../../tools/loopback/service.js";
import { tryGet, waitFor } from "../../tools/loopback/wait.js";
import { useConsulCluster } from "./cluster.js";

describe("registration with a real 3-server Consul", () => {
  const ctx = useConsulCluster();

  /** The operator's CLI, with the service's own environment, as `docker exec cabify ...` would run it. */
  async function agentCli(svc: ServiceProcess, ...args: string[]): Promise<void> {
    const url = new URL(svc.url);
    const child = spawn(process.execPath, ["--import", "tsx", "service/src/agent/cli.ts", ...args], {
      stdio: "ignore",
      env: { PATH: process.env.PATH ?? "", SERVICE_ID: svc.serviceId, ADVERTISE_ADDRESS: url.hostname, PORT: url.port, CONSUL_HTTP_ADDR: ctx.cluster.clients[0]!.http },
    });
    expect(await exited(child)).toBe(0);
  }

  const ready = async (svc: ServiceProcess) => (await tryGet(`${svc.url}/readyz`))?.status === 200;

  /** How many registration passes ended with `result`, from the service's own /metrics. */
  async function reconciles(svc: ServiceProcess, result: "in_sync" | "mended"): Promise<number> {
    const text = await (await fetch(`${svc.url}/metrics`)).text();
    return Number(new RegExp(`^cabify_consul_reconciles_total\\{result="${result}"\\} (\\d+)$`, "m").exec(text)?.[1] ?? 0);
  }

  it("registers, passes its /readyz check and is returned by the health API", async () => {
    const { cluster } = ctx;
    const ip = `${cluster.subnet}.31`;
    const svc = await ctx.start(31);

    await ctx.passing(svc);
    // Read through a server, not the client agent: the registration reached the catalog.
    const [entry] = (await createConsulClient(cluster.servers[1]!.http).health("cabify", true)).filter((e) => e.Service.ID === svc.serviceId);
    expect(entry?.Service).toMatchObject({ Address: ip, Port: 18081, Meta: { version: packageVersion(), instance: svc.serviceId }, Weights: { Passing: 10, Warning: 1 } });
    expect(entry?.Node.Node).toBe("consul-client-1");
    expect(entry?.Checks.find((c) => c.CheckID === `${svc.serviceId}:readyz`)?.Status).toBe("passing");

    const status = await fetch(`${svc.url}/status`);
    expect(await status.text()).toBe(`OK from ${ip}`);
    expect(status.headers.get("x-cabify-instance")).toBe(svc.serviceId);
    expect((await fetch(`${svc.url}/readyz`)).status).toBe(200);
  });

  it("re-registers when the local agent restarts with an empty data dir", async () => {
    const svc = await ctx.start(32);
    await ctx.passing(svc);
    const client = ctx.cluster.clients[0]!;
    await client.kill();
    await client.start({ wipe: true });
    await svc.waitForLog("re-registered: the local Consul agent had lost the service");
    await ctx.passing(svc);
    expect((await fetch(`${svc.url}/status`)).status).toBe(200);
  });

  // The host's hard kill: the agent restores the old definition from its data
  // dir, so "the agent knows the service" is no proof it knows *this* one.
  it("after a hard kill of instance and agent, the new process mends the restored definition and turns ready", async () => {
    const client = ctx.cluster.clients[0]!;
    const old = await ctx.start(33, { SERVICE_VERSION: "0.9.0" });
    await ctx.passing(old);
    old.signal("SIGKILL");
    await old.exit;
    await client.kill();
    await client.start();
    // The restored definition is there, still naming the old version.
    expect((await ctx.consul.service(old.serviceId))?.Meta).toMatchObject({ version: "0.9.0" });

    const svc = await ctx.start(33, { SERVICE_VERSION: "0.9.1" });
    await waitFor("the new process ready", () => ready(svc), 10_000);
    await ctx.passing(svc);
    const [entry] = (await ctx.consul.health("cabify", true)).filter((e) => e.Service.ID === svc.serviceId);
    expect(entry?.Service.Meta).toMatchObject({ version: "0.9.1" });
    expect(svc.logs.find((l) => l.msg === "registered with Consul")?.differences).toEqual(["meta"]);
  });

  it("keeps an operator's weight and maintenance across resyncs, and gives them back to an agent that lost its state", async () => {
    const svc = await ctx.start(34);
    await ctx.passing(svc);
    await agentCli(svc, "weight", "5");
    await agentCli(svc, "maint", "on", "--reason", "disk check");
    // Four full passes of the loop after the operator's changes, each of which must find the agent in sync.
    const before = await reconciles(svc, "in_sync");
    await waitFor("four more passes of the registration loop", async () => (await reconciles(svc, "in_sync")) >= before + 4, 10_000);
    const held = async () => ({
      weight: (await ctx.consul.service(svc.serviceId))?.Weights.Passing,
      maintenance: (await ctx.consul.checks(svc.serviceId)).find((c) => c.CheckID.startsWith("_service_maintenance:"))?.Notes,
    });
    expect(await held()).toEqual({ weight: 5, maintenance: "disk check" });
    expect(svc.logs.filter((l) => String(l.msg).startsWith("registration mended"))).toEqual([]);

    const client = ctx.cluster.clients[0]!;
    await client.kill();
    await client.start({ wipe: true });
    await svc.waitForLog("maintenance restored");
    expect(await held()).toEqual({ weight: 5, maintenance: "disk check" });

    await agentCli(svc, "maint", "off");
    await agentCli(svc, "weight", "default");
    await ctx.passing(svc);
    expect(await held()).toEqual({ weight: 10, maintenance: undefined });
  });

  it("clears a maintenance an earlier process's drain left behind (an operator's stays: see above)", async () => {
    const first = await ctx.start(35);
    await ctx.passing(first);
    // A drain that was killed between maintenance and deregistration.
    await ctx.consul.maintenance(first.serviceId, true, DRAIN_REASON);
    first.signal("SIGKILL");
    await first.exit;

    const svc = await ctx.start(35);
    await svc.waitForLog("cleared a maintenance left by an earlier drain");
    await ctx.passing(svc);
  });

  it("keeps serving while Consul is down at start, and registers once it comes", async () => {
    const client = ctx.cluster.clients[0]!;
    await client.kill();
    const svc = await ctx.start(36);

    await svc.waitForLog("Consul registration failed; retrying");
    const status = await fetch(`${svc.url}/status`);
    expect(status.status).toBe(200);
    expect(await status.text()).toBe(`OK from ${ctx.cluster.subnet}.36`);
    const readyz = await fetch(`${svc.url}/readyz`);
    expect(readyz.status).toBe(503);
    expect(await readyz.text()).toContain("not registered");

    await client.start();
    await svc.waitForLog("registered with Consul");
    await ctx.passing(svc);
    expect((await tryGet(`${svc.url}/readyz`))?.status).toBe(200);
  });
});
