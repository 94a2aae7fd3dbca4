import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createConsulClient, type ConsulClient } from "../../service/src/agent/consul.js";
import { packageVersion } from "../../service/src/version.js";
import { startConsulCluster, type ConsulCluster } from "../../tools/loopback/consul.js";
import { startService, type ServiceProcess } from "../../tools/loopback/service.js";
import { tryGet, waitFor } from "../../tools/loopback/wait.js";

/** The instance IDs Consul reports as passing, through the servers' catalog. */
async function passing(consul: ConsulClient): Promise<string[]> {
  return (await consul.health("cabify", true)).map((e) => e.Service.ID);
}

describe("registration with a real 3-server Consul", () => {
  let cluster: ConsulCluster;
  let consul: ConsulClient;
  const services: ServiceProcess[] = [];

  beforeAll(async () => {
    cluster = await startConsulCluster({ clients: 1 });
    consul = createConsulClient(cluster.clients[0]!.http);
  });

  afterAll(async () => {
    for (const svc of services) svc.signal("SIGKILL");
    await Promise.all(services.map((s) => s.exit));
    await cluster?.stop();
  });

  it("registers, passes its /readyz check and is returned by the health API", async () => {
    const ip = `${cluster.subnet}.31`;
    const svc = await startService({ ip, port: 18081, consulHttp: cluster.clients[0]!.http });
    services.push(svc);

    await waitFor("the instance passing in Consul", async () => (await passing(consul)).includes(svc.serviceId));
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
    const svc = services[0]!;
    const client = cluster.clients[0]!;
    await client.kill();
    await client.start({ wipe: true });
    // The fresh agent's anti-entropy removes the instance from the catalog; the
    // agent loop notices the local agent no longer knows it and registers again.
    await svc.waitForLog("re-registered: the local Consul agent had lost the service");
    await waitFor("the instance passing again", async () => (await passing(consul)).includes(svc.serviceId));
    expect((await fetch(`${svc.url}/status`)).status).toBe(200);
  });

  it("keeps serving while Consul is down at start, and registers once it comes", async () => {
    const client = cluster.clients[0]!;
    await client.kill();
    const svc = await startService({ ip: `${cluster.subnet}.32`, port: 18081, consulHttp: client.http });
    services.push(svc);

    await svc.waitForLog("Consul registration failed; retrying");
    const status = await fetch(`${svc.url}/status`);
    expect(status.status).toBe(200);
    expect(await status.text()).toBe(`OK from ${cluster.subnet}.32`);
    const readyz = await fetch(`${svc.url}/readyz`);
    expect(readyz.status).toBe(503);
    expect(await readyz.text()).toContain("not registered");

    await client.start();
    await svc.waitForLog("registered with Consul");
    await waitFor("the late instance passing", async () => (await passing(consul)).includes(svc.serviceId));
    expect((await tryGet(`${svc.url}/readyz`))?.status).toBe(200);
  });
});
