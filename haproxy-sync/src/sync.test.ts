import { setTimeout as sleep } from "node:timers/promises";
import { afterEach, describe, expect, it } from "vitest";
import type { HealthEntry } from "../../lib/consul.js";
import { createLogger } from "../../lib/log.js";
import { waitFor } from "../../tools/loopback/wait.js";
import { consulDelayMs, retryDelayMs, runSync } from "./sync.js";
import { startFakeConsul, type FakeConsul } from "./testing/fake-consul.js";
import { startFakeRuntimeApi, type FakeRuntimeApi } from "./testing/fake-runtime-api.js";

function passing(last: number, weight = 10): HealthEntry {
  const id = `cabify-app-${last}`;
  return {
    Node: { Node: `app-${last}`, Address: `10.77.0.${last}` },
    Service: { ID: id, Service: "cabify", Address: `10.77.0.${last}`, Port: 8080, Tags: [], Meta: {}, Weights: { Passing: weight, Warning: 1 } },
    Checks: [{ CheckID: `${id}:readyz`, Name: "readyz", Status: "passing", Output: "", ServiceID: id }],
  };
}

interface LogLine {
  level: string;
  msg: string;
  [field: string]: unknown;
}

/** One sync between a fake Consul and a fake HAProxy, stopped and torn down after each test. */
interface Running {
  consul: FakeConsul;
  haproxy: FakeRuntimeApi;
  stop: AbortController;
  done: Promise<void>;
  logs(): LogLine[];
}

const running: Running[] = [];

afterEach(async () => {
  for (const r of running.splice(0)) {
    r.stop.abort();
    await r.done;
    await Promise.all([r.consul.close(), r.haproxy.close()]);
  }
});

/** `prepare` shapes the fakes before the sync's first request. */
async function start(entries: HealthEntry[], { resyncSeconds = 30, prepare = (_c: FakeConsul, _h: FakeRuntimeApi) => {} } = {}): Promise<Running> {
  const consul = await startFakeConsul(entries);
  const haproxy = await startFakeRuntimeApi("be_cabify", 2);
  prepare(consul, haproxy);
  const lines: string[] = [];
  const log = createLogger("debug", {}, (line) => void lines.push(line));
  const stop = new AbortController();
  const done = runSync({ consulAddress: consul.url, consulToken: undefined, service: "cabify", socket: haproxy.path, backend: "be_cabify", resyncSeconds, log, signal: stop.signal });
  const r: Running = { consul, haproxy, stop, done, logs: () => lines.map((l) => JSON.parse(l) as LogLine) };
  running.push(r);
  return r;
}

const until = (what: string, condition: () => boolean, timeoutMs = 5000) => waitFor(what, () => Promise.resolve(condition()), timeoutMs, 10);

describe("runSync", () => {
  it("turns a change in Consul into the planned Runtime API commands", async () => {
    const { consul, haproxy } = await start([]);
    // The first answer (no instances) is applied; the next query is held.
    await until("a blocking query held", () => consul.requests >= 2 && consul.held === 1);
    expect(haproxy.sets).toEqual([]);

    consul.setEntries([passing(31)]);
    await until("the instance ready in HAProxy", () => haproxy.slots[0]?.state === "ready");
    expect(haproxy.sets).toEqual([
      "set server be_cabify/app1 addr 10.77.0.31 port 8080",
      "set server be_cabify/app1 weight 10",
      "set server be_cabify/app1 state ready",
    ]);

    consul.setEntries([]);
    await until("the departed instance in maintenance", () => haproxy.slots[0]?.state === "maint");
    expect(haproxy.sets.slice(3)).toEqual(["set server be_cabify/app1 state maint"]);
  });

  it("stops within a second while a blocking query is pending", async () => {
    const r = await start([passing(31)]);
    await until("a blocking query held", () => r.consul.requests >= 2 && r.consul.held === 1);

    const stopped = performance.now();
    r.stop.abort();
    await r.done;
    const elapsed = performance.now() - stopped;
    expect(elapsed).toBeLessThan(1000);
    // The query was really abandoned, not left to run out its 30 s in Consul.
    await until("the held query closed", () => r.consul.held === 0, 1000);
  });

  it("lets a reconcile under way finish on stop, and starts nothing after it", async () => {
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    const r = await start([passing(31)], { prepare: (_, haproxy) => (haproxy.gate = (command) => (command.includes(" addr ") ? released : Promise.resolve())) });
    await until("the reconcile waiting on HAProxy", () => r.haproxy.sets.length === 1);

    r.stop.abort();
    let finished = false;
    void r.done.then(() => (finished = true));
    await until("the blocking query abandoned", () => r.consul.held === 0 && r.consul.requests >= 2);
    expect(finished).toBe(false);

    const commandsBefore = r.haproxy.commands.length;
    release();
    await r.done;
    expect(r.haproxy.sets).toEqual([
      "set server be_cabify/app1 addr 10.77.0.31 port 8080",
      "set server be_cabify/app1 weight 10",
      "set server be_cabify/app1 state ready",
    ]);
    // Only the two commands the reconcile still had to send; no new read.
    expect(r.haproxy.commands.length).toBe(commandsBefore + 2);
  });

  it("logs a refused command as an error and retries soon, holding back the slot's later commands", async () => {
    const addr = "set server be_cabify/app1 addr 10.77.0.31 port 8080";
    let refusals = 0;
    // A resync of 30 s: only the retry can bring the slot up within the test.
    const started = performance.now();
    const r = await start([passing(31)], { resyncSeconds: 30, prepare: (_, haproxy) => (haproxy.refuse = (command) => (command === addr && refusals++ < 2 ? "No such server." : undefined)) });

    await until("the slot ready after the refusals", () => r.haproxy.slots[0]?.state === "ready");
    expect(performance.now() - started).toBeLessThan(retryDelayMs(1) + retryDelayMs(2) + 1500);

    const errors = r.logs().filter((l) => l.level === "error");
    expect(errors).toHaveLength(2);
    for (const e of errors) expect(e).toMatchObject({ msg: "HAProxy refused a command; will retry", command: addr, answer: "No such server." });
    // While the address was refused, the slot was never set ready at its old address.
    expect(r.haproxy.sets).toEqual([addr, addr, addr, "set server be_cabify/app1 weight 10", "set server be_cabify/app1 state ready"]);
    expect(r.logs().some((l) => l.msg === "HAProxy accepts updates again")).toBe(true);
  });

  it("backs off when Consul's answer has no X-Consul-Index instead of asking again at once", async () => {
    const r = await start([passing(31)], { prepare: (consul) => consul.setMode("no-index") });
    await until("the failure logged", () => r.logs().some((l) => l.msg.startsWith("cannot watch Consul")));

    // A 2 s window: the backoff (0.5, 1, 1 s) allows 2 or 3 requests; a busy loop makes thousands.
    const before = r.consul.requests;
    await sleep(2000);
    const during = r.consul.requests - before;
    expect(during).toBeGreaterThanOrEqual(1);
    expect(during).toBeLessThanOrEqual(4);

    const warnings = r.logs().filter((l) => l.level === "warn");
    expect(warnings).toHaveLength(1); // the first failure; the next line comes at the 10th
    expect(String(warnings[0]?.error)).toMatch(/X-Consul-Index/);
    expect(r.haproxy.sets).toEqual([]);
  });

  it("leaves HAProxy untouched while Consul is unreachable, resyncs included", async () => {
    const r = await start([passing(31)], { resyncSeconds: 0.1 });
    await until("the instance ready", () => r.haproxy.slots[0]?.state === "ready");
    const setsBefore = [...r.haproxy.sets];
    const slotsBefore = structuredClone(r.haproxy.slots);

    r.consul.setMode("drop");
    const requestsAtDrop = r.consul.requests;
    const readsAtDrop = r.haproxy.commands.length;
    await until("several failed Consul calls", () => r.consul.requests >= requestsAtDrop + 2);
    await until("resyncs during the outage", () => r.haproxy.commands.length >= readsAtDrop + 3);

    expect(r.logs().some((l) => l.level === "warn" && l.msg.startsWith("cannot watch Consul"))).toBe(true);
    expect(r.haproxy.sets).toEqual(setsBefore);
    expect(r.haproxy.slots).toEqual(slotsBefore);
    expect(r.logs().filter((l) => l.level === "error")).toEqual([]);
  });

  it("re-reads the whole view at once when Consul comes back, not after the old index's 30 s", async () => {
    const r = await start([passing(31)]);
    await until("a blocking query held", () => r.consul.held === 1 && r.consul.requests >= 2);
    r.consul.setMode("drop");
    await until("the failure logged", () => r.logs().some((l) => l.msg.startsWith("cannot watch Consul")));
    // Nothing changed in Consul meanwhile: a query on the old index would be held.
    r.consul.setMode("consul");
    await until("the sync reconnecting", () => r.logs().some((l) => l.msg === "Consul reachable again"), 3000);
  });

  it("asks for a consistent view on every whole re-read (index 0), and lets blocking queries take the agent's fast path", async () => {
    const r = await start([passing(31)]);
    await until("a blocking query held", () => r.consul.held === 1);
    r.consul.setMode("drop");
    await until("the failure logged", () => r.logs().some((l) => l.msg.startsWith("cannot watch Consul")));
    r.consul.setMode("consul");
    await until("the sync reconnecting", () => r.logs().some((l) => l.msg === "Consul reachable again"), 3000);
    await until("a blocking query held again", () => r.consul.held === 1);
    const whole = r.consul.queries.filter((q) => new URLSearchParams(q).get("index") === "0");
    const blocking = r.consul.queries.filter((q) => new URLSearchParams(q).get("index") !== "0");
    expect(whole.length).toBeGreaterThanOrEqual(2);
    expect(blocking.length).toBeGreaterThanOrEqual(2);
    expect(whole.every((q) => new URLSearchParams(q).has("consistent"))).toBe(true);
    expect(blocking.some((q) => new URLSearchParams(q).has("consistent"))).toBe(false);
  });
});

describe("consulDelayMs", () => {
  it("waits 500 ms after the first failure, then 1 s", () => {
    expect([1, 2, 3, 10, 100].map(consulDelayMs)).toEqual([500, 1000, 1000, 1000, 1000]);
  });
});

describe("retryDelayMs", () => {
  it("starts at 250 ms and doubles up to 5 s", () => {
    expect([1, 2, 3, 4, 5, 6, 20].map(retryDelayMs)).toEqual([250, 500, 1000, 2000, 4000, 5000, 5000]);
  });
});
