import { createConnection, createServer, type Socket } from "node:net";
import { describe, expect, it } from "vitest";
import type { ServiceProcess } from "../../tools/loopback/service.js";
import { waitFor } from "../../tools/loopback/wait.js";
import { useConsulCluster } from "./cluster.js";

describe("graceful drain on SIGTERM", () => {
  const ctx = useConsulCluster();

  async function registeredService(lastOctet: number, env: Record<string, string> = {}): Promise<ServiceProcess> {
    const svc = await ctx.start(lastOctet, env);
    await ctx.passing(svc);
    return svc;
  }

  it("finishes the in-flight request, is out of Consul before it exits, and exits 0", async () => {
    const svc = await registeredService(31);
    let exitedAt = Number.POSITIVE_INFINITY;
    void svc.exit.then(() => (exitedAt = performance.now()));

    const slow = fetch(`${svc.url}/debug/sleep?ms=2500`);
    await waitFor("the slow request in flight", async () => (await (await fetch(`${svc.url}/metrics`)).text()).includes("cabify_inflight_requests 2"));
    svc.signal("SIGTERM");

    // Poll Consul while the process drains: the instance must leave the
    // passing set (maintenance) while the process is still alive.
    const outOfServiceAt = await waitFor(
      "the instance in maintenance",
      async () => {
        const checks = await ctx.consul.checks(svc.serviceId);
        return checks.some((c) => c.CheckID === `_service_maintenance:${svc.serviceId}` && c.Status === "critical") && performance.now();
      },
      10_000,
      25,
    );
    expect(svc.child.exitCode).toBeNull();

    const res = await slow;
    expect(res.status).toBe(200);
    expect(await res.text()).toBe(`slept 2500ms on ${ctx.cluster.subnet}.31`);
    expect(await svc.exit).toBe(0);
    expect(outOfServiceAt).toBeLessThan(exitedAt);
    // Deregistered on the way out: nothing stale is left for HAProxy to follow.
    expect(await ctx.consul.service(svc.serviceId)).toBeUndefined();
  });

  it("refuses new connections once the listener closed", async () => {
    const svc = await registeredService(32, { DRAIN_DELAY_SECONDS: "0" });
    const slow = fetch(`${svc.url}/debug/sleep?ms=2000`);
    await waitFor("the slow request in flight", async () => (await (await fetch(`${svc.url}/metrics`)).text()).includes("cabify_inflight_requests 2"));
    svc.signal("SIGTERM");
    await svc.waitForLog("in Consul maintenance; no new traffic should arrive");
    await waitFor("the listener closed", async () => {
      try {
        await fetch(`${svc.url}/status`, { signal: AbortSignal.timeout(500) });
        return false;
      } catch {
        return true;
      }
    }, 5000, 50);
    expect((await slow).status).toBe(200);
    expect(await svc.exit).toBe(0);
  });

  it("cuts requests that outlive the drain timeout, within the bound, and says so with exit 1", async () => {
    const svc = await registeredService(33, { DRAIN_DELAY_SECONDS: "0", DRAIN_TIMEOUT_SECONDS: "1.5" });
    const endless = fetch(`${svc.url}/debug/sleep?ms=30000`).then(
      (r) => r.status,
      () => "cut",
    );
    await waitFor("the long request in flight", async () => (await (await fetch(`${svc.url}/metrics`)).text()).includes("cabify_inflight_requests 2"));
    const signalledAt = performance.now();
    svc.signal("SIGTERM");
    expect(await svc.exit).toBe(1);
    expect(performance.now() - signalledAt).toBeLessThan(5000);
    expect(await endless).toBe("cut");
    expect(svc.logs.find((l) => l.msg === "drain timeout reached; cut the requests still in progress")?.requests_cut).toBe(1);
  });

  it("does not wait for connections that never sent a complete request, and exits 0", async () => {
    const svc = await registeredService(34, { DRAIN_DELAY_SECONDS: "0.3", DRAIN_TIMEOUT_SECONDS: "10" });
    const url = new URL(svc.url);
    const open = (payload: string) =>
      new Promise<{ closed: Promise<void> }>((resolve, reject) => {
        const socket: Socket = createConnection({ host: url.hostname, port: Number(url.port) }, () => {
          if (payload) socket.write(payload);
          resolve({ closed: new Promise((done) => socket.once("close", () => done())) });
        });
        socket.once("error", reject);
      });
    const preconnect = await open(""); // a browser's pre-connect: nothing sent
    const halfSent = await open("GET /status HTTP/1.1\r\nHost: cabify\r\n"); // headers never finished
    const slow = fetch(`${svc.url}/debug/sleep?ms=1000`);
    await waitFor("the slow request in flight", async () => (await (await fetch(`${svc.url}/metrics`)).text()).includes("cabify_inflight_requests 2"));

    const signalledAt = performance.now();
    svc.signal("SIGTERM");
    await Promise.all([preconnect.closed, halfSent.closed]);
    expect((await slow).status).toBe(200);
    expect(await svc.exit).toBe(0);
    // Bounded by the slow request (1 s) and the delay, far from the 10 s timeout.
    expect(performance.now() - signalledAt).toBeLessThan(4000);
    expect(svc.logs.find((l) => l.msg === "draining")?.idle_connections_closed).toBeGreaterThanOrEqual(2);
  });

  it("bounds the whole drain, Consul calls included, when the local agent hangs", async () => {
    // A hung agent: it accepts connections and never answers.
    const held: Socket[] = [];
    const hung = createServer((socket) => void held.push(socket));
    await new Promise<void>((resolve) => hung.listen(0, `${ctx.cluster.subnet}.21`, resolve));
    const address = hung.address();
    if (!address || typeof address === "string") throw new Error("no address");
    try {
      const svc = await ctx.start(35, { DRAIN_DELAY_SECONDS: "0.2", DRAIN_TIMEOUT_SECONDS: "1.5" }, `http://${ctx.cluster.subnet}.21:${address.port}`);
      await waitFor("a registration attempt hanging", () => Promise.resolve(held.length > 0));
      const signalledAt = performance.now();
      svc.signal("SIGTERM");
      // No request was cut, so the exit is 0; and the drain ended at its bound,
      // not after a 3 s maintenance call plus a 3 s deregistration.
      expect(await svc.exit).toBe(0);
      expect(performance.now() - signalledAt).toBeLessThan(2500);
      expect(svc.logs.some((l) => l.msg === "could not deregister from Consul before the drain deadline")).toBe(true);
    } finally {
      for (const socket of held) socket.destroy();
      await new Promise((resolve) => hung.close(resolve));
    }
  });
});
