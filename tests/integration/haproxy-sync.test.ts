import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseServersState, runtimeCommand, sendCommand } from "../../haproxy-sync/src/runtime-api.js";
import { runSync } from "../../haproxy-sync/src/sync.js";
import { createLogger } from "../../lib/log.js";
import { backendName, DEFAULT_SERVICE_NAME } from "../../lib/names.js";
import { exited, track } from "../../tools/loopback/processes.js";
import type { ServiceProcess } from "../../tools/loopback/service.js";
import { tryGet, waitFor } from "../../tools/loopback/wait.js";
import { useConsulCluster } from "./cluster.js";

/**
 * haproxy-consul-sync between a real Consul quorum and a real HAProxy (the
 * Debian 2.6 the LB nodes run), with real service processes as backends.
 */
describe("HAProxy follows Consul through the Runtime API", () => {
  const ctx = useConsulCluster();
  const service = DEFAULT_SERVICE_NAME;
  const backend = backendName(service);
  let haproxy: ChildProcess;
  let dir: string;
  let socket: string;
  let operatorSocket: string;
  let frontend: string;
  const services: ServiceProcess[] = [];
  const stopSync = new AbortController();
  let sync: Promise<void>;
  const syncLogs: string[] = [];

  const slots = async () => parseServersState(await runtimeCommand(socket, `show servers state ${backend}`));
  const slotOf = async (svc: ServiceProcess) => (await slots()).find((s) => `http://${s.addr}:${s.port}` === svc.url);

  let nextOctet = 31;
  /**
   * Kills what an earlier test started and starts `n` new instances, waiting
   * until exactly they are ready in HAProxy: every test begins from the same
   * state, whatever ran before it.
   */
  async function freshInstances(n: number): Promise<ServiceProcess[]> {
    // Killed and deregistered: a crashed instance's registration would keep
    // its slot (critical -> maint) for a minute and fill the template.
    for (const svc of services.splice(0)) {
      svc.signal("SIGKILL");
      await svc.exit;
      await ctx.consul.deregister(svc.serviceId);
    }
    const started: ServiceProcess[] = [];
    for (let i = 0; i < n; i++) started.push(await ctx.start(nextOctet++));
    services.push(...started);
    await waitFor(`${n} new instances ready in HAProxy, and only they`, async () => {
      const ready = (await slots()).filter((slot) => slot.state === "ready").map((slot) => `http://${slot.addr}:${slot.port}`);
      return ready.length === n && started.every((svc) => ready.includes(svc.url));
    }, 20_000, 20);
    return started;
  }

  // Runs after the cluster is up (hooks run in order) and is torn down before it (afterAll runs in reverse).
  beforeAll(async () => {
    const { cluster } = ctx;
    dir = mkdtempSync(join(tmpdir(), "cabify-haproxy-"));
    socket = join(dir, "admin.sock");
    operatorSocket = join(dir, "operator.sock");
    frontend = `http://${cluster.subnet}.50:18080`;
    // The essentials of ansible/roles/haproxy's backend: empty template slots
    // in maintenance, redispatch + retries, fast checks on /readyz. be_probe
    // and be_static are only for the answers test: the sync never touches them.
    writeFileSync(
      join(dir, "haproxy.cfg"),
      `global
  stats socket ${socket} mode 600 level admin
  stats socket ${operatorSocket} mode 600 level operator
defaults
  mode http
  timeout connect 500ms
  timeout client 5s
  timeout server 5s
  option redispatch
  retries 3
  retry-on all-retryable-errors
  option httpchk GET /readyz
  default-server inter 300 fall 2 rise 1
frontend fe_${service}
  bind ${cluster.subnet}.50:18080
  default_backend ${backend}
backend ${backend}
  balance roundrobin
  server-template app 1-4 unassigned.invalid:18081 check disabled init-addr last,0.0.0.0
backend be_probe
  balance roundrobin
  server-template probe 1-2 unassigned.invalid:18081 check disabled init-addr last,0.0.0.0
backend be_static
  balance static-rr
  server s1 127.0.0.1:18081 disabled
`,
    );
    haproxy = track(spawn("haproxy", ["-W", "-db", "-f", join(dir, "haproxy.cfg")], { stdio: "ignore" }));
    await waitFor("the HAProxy runtime API", async () => (await slots()).length === 4);

    const log = createLogger("info", {}, (line) => void syncLogs.push(line));
    sync = runSync({ consulAddress: cluster.clients[0]!.http, consulToken: undefined, service, socket, backend, resyncSeconds: 1, log, signal: stopSync.signal });
  });

  afterAll(async () => {
    stopSync.abort();
    await sync;
    haproxy?.kill("SIGKILL");
    if (haproxy) await exited(haproxy);
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("judges each Runtime API answer the way this HAProxy means it", async () => {
    // [socket, command, applied?]: every command the planner emits, applied and refused.
    const cases: [string, string, boolean][] = [
      [socket, "set server be_probe/probe1 addr 127.0.0.1 port 18081", true], // "IP changed from '0.0.0.0' to ..."
      [socket, "set server be_probe/probe1 addr 127.0.0.1 port 18082", true], // "no need to change the addr, port changed ..."
      [socket, "set server be_probe/probe1 weight 10", true],
      [socket, "set server be_probe/probe1 state ready", true],
      [socket, "set server be_probe/probe1 state drain", true],
      [socket, "set server be_probe/probe1 state maint", true],
      [socket, "set server be_probe/probe9 state ready", false], // "No such server."
      [socket, "set server be_nope/probe1 weight 3", false], // "No such backend."
      [socket, "set server be_probe/probe1 weight 300", false], // "Absolute weight can only be between 0 and 256 inclusive."
      [socket, "set server be_static/s1 weight 5", false], // "Backend is using a static LB algorithm ..."
      [socket, "set server be_probe/probe2 addr 10.77.0.999 port 18081", false], // "Invalid addr ..."
      [socket, "set server be_probe/probe2 addr 127.0.0.2 port x", false], // "IP changed ..., problem converting port ..."
      [operatorSocket, "set server be_probe/probe2 state ready", false], // "Permission denied"
    ];
    const judged = [];
    for (const [path, command] of cases) judged.push(await sendCommand(path, command));
    expect(judged.map((r) => [r.command, r.refused === undefined])).toEqual(cases.map(([, command, applied]) => [command, applied]));
    const probe1 = parseServersState(await runtimeCommand(socket, "show servers state be_probe"))[0];
    expect(probe1).toEqual({ name: "probe1", addr: "127.0.0.1", port: 18082, weight: 10, state: "maint" });
  });

  it("puts registered instances into service and balances across them", async () => {
    const started = performance.now();
    const instances = await freshInstances(2);
    console.log(`[measure] 2 instances started -> HAProxy ready (process start + registration + first check + sync): ${Math.round(performance.now() - started)} ms`);

    const seen = new Set<string>();
    for (let i = 0; i < 20; i++) seen.add(await (await fetch(`${frontend}/status`)).text());
    expect(seen).toEqual(new Set(instances.map((svc) => `OK from ${new URL(svc.url).hostname}`)));
  });

  it("drains an instance in HAProxy within a second of Consul maintenance, and restores it", async () => {
    const [first, second] = await freshInstances(2);
    const changedAt = performance.now();
    await ctx.consul.maintenance(first!.serviceId, true, "test");
    await waitFor("the slot draining", async () => (await slotOf(first!))?.state === "drain", 5000, 10);
    const ms = Math.round(performance.now() - changedAt);
    console.log(`[measure] Consul maintenance -> HAProxy drain: ${ms} ms`);
    expect(ms).toBeLessThan(1500);

    for (let i = 0; i < 10; i++) expect(await (await fetch(`${frontend}/status`)).text()).toBe(`OK from ${new URL(second!.url).hostname}`);
    await ctx.consul.maintenance(first!.serviceId, false, "test");
    await waitFor("the slot ready again", async () => (await slotOf(first!))?.state === "ready", 5000, 10);
  });

  it("loses no request while an instance drains and exits under load", async () => {
    const [, second] = await freshInstances(2);
    let ok = 0;
    const failures: string[] = [];
    // A bounded load: at most 600 requests or 15 s, whichever comes first.
    const deadline = performance.now() + 15_000;
    const load = (async () => {
      for (let i = 0; i < 600 && performance.now() < deadline; i++) {
        try {
          const res = await fetch(`${frontend}/status`, { signal: AbortSignal.timeout(2000) });
          if (res.status === 200) ok += 1;
          else failures.push(`HTTP ${res.status}`);
          await res.arrayBuffer();
        } catch (err) {
          failures.push(String(err));
        }
      }
    })();
    await waitFor("the load under way", () => Promise.resolve(ok >= 20), 5000, 10);
    second!.signal("SIGTERM");
    expect(await second!.exit).toBe(0);
    await load;
    console.log(`[measure] drain of 1 of 2 instances under load: ${ok} ok, ${failures.length} failed`);
    expect(failures).toEqual([]);
    expect(ok).toBeGreaterThan(100);
    await waitFor("the departed instance out of service", async () => (await slots()).filter((s) => s.state === "ready").length === 1);
  });

  it("keeps the last known backends while Consul is unreachable", async () => {
    await freshInstances(1);
    const client = ctx.cluster.clients[0]!;
    const before = await slots();
    await client.kill();
    await waitFor("the sync noticing", () => Promise.resolve(syncLogs.some((l) => l.includes("cannot watch Consul"))), 10_000);
    for (let i = 0; i < 10; i++) expect((await tryGet(`${frontend}/status`))?.status).toBe(200);
    expect(await slots()).toEqual(before);
    await client.start();
    await waitFor("the sync reconnecting", () => Promise.resolve(syncLogs.some((l) => l.includes("Consul reachable again"))), 20_000);
  });
});
