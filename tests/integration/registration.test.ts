import { describe, expect, it } from "vitest";
import { createConsulClient } from "../../lib/consul.js";
import { packageVersion } from "../../service/src/version.js";
import type { ServiceProcess } from "../../tools/loopback/service.js";
import { tryGet } from "../../tools/loopback/wait.js";
import { useConsulCluster } from "./cluster.js";

describe("registration with a real 3-server Consul", () => {
  const ctx = useConsulCluster();
  let first: ServiceProcess;

  it("registers, passes its /readyz check and is returned by the health API", async () => {
    const { cluster } = ctx;
    const ip = `${cluster.subnet}.31`;
    const svc = (first = await ctx.start(31));

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
    const svc = first;
    const client = ctx.cluster.clients[0]!;
    await client.kill();
    await client.start({ wipe: true });
    // The fresh agent's anti-entropy removes the instance from the catalog; the
    // agent loop notices the local agent no longer knows it and registers again.
    await svc.waitForLog("re-registered: the local Consul agent had lost the service");
    await ctx.passing(svc);
    expect((await fetch(`${svc.url}/status`)).status).toBe(200);
  });

  it("keeps serving while Consul is down at start, and registers once it comes", async () => {
    const client = ctx.cluster.clients[0]!;
    await client.kill();
    const svc = await ctx.start(32);

    await svc.waitForLog("Consul registration failed; retrying");
    const status = await fetch(`${svc.url}/status`);
    expect(status.status).toBe(200);
    expect(await status.text()).toBe(`OK from ${ctx.cluster.subnet}.32`);
    const readyz = await fetch(`${svc.url}/readyz`);
    expect(readyz.status).toBe(503);
    expect(await readyz.text()).toContain("not registered");

    await client.start();
    await svc.waitForLog("registered with Consul");
    await ctx.passing(svc);
    expect((await tryGet(`${svc.url}/readyz`))?.status).toBe(200);
  });
});
