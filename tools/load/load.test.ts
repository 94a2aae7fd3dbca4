import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { runClosedLoop, runLoad, summarize, type RequestRecord } from "./load.js";

describe("runLoad against a real HTTP server on loopback", () => {
  let server: Server | undefined;
  afterEach(() => new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve())));

  async function listen(handler: Parameters<typeof createServer>[1]): Promise<string> {
    server = createServer(handler);
    await new Promise<void>((resolve) => server!.listen(0, "127.0.0.1", resolve));
    return `http://127.0.0.1:${(server.address() as AddressInfo).port}/status`;
  }

  it.each([false, true])("sends exactly rate × duration requests and records who answered (keep-alive %s)", async (keepAlive) => {
    let answered = 0;
    const url = await listen((_req, res) => {
      answered += 1;
      res.writeHead(answered % 10 === 0 ? 503 : 200, { "X-Cabify-Instance": `i${answered % 2}`, "X-Cabify-Version": "0.1.0" }).end("OK");
    });
    const records = await runLoad({ url, rate: 100, durationSeconds: 0.5, timeoutMs: 1000, keepAlive });
    const summary = summarize(records);
    expect(summary.sent).toBe(50);
    expect(answered).toBe(50);
    expect(summary.failed).toBe(5);
    expect(summary.failures).toEqual({ http_503: 5 });
    expect(summary.perInstance).toEqual({ i1: 25, i0: 20 });
    expect(summary.perVersion).toEqual({ "0.1.0": 45 });
    expect(records[0]).toMatchObject({ outcome: "ok", instance: "i1", version: "0.1.0" });
    // The schedule is fixed: request 49 is due 490 ms in (back to back, all
    // 50 would start within a few ms). Timers may run a millisecond or so early.
    expect(records[49]!.startMs).toBeGreaterThanOrEqual(480);
  });

  it("keeps exactly `concurrency` requests in flight, over reused connections, for the duration", async () => {
    let inFlight = 0;
    let most = 0;
    const sockets = new Set<unknown>();
    const url = await listen((req, res) => {
      sockets.add(req.socket);
      inFlight += 1;
      most = Math.max(most, inFlight);
      setTimeout(() => {
        inFlight -= 1;
        res.end("OK");
      }, 5);
    });
    const started = performance.now();
    const records = await runClosedLoop({ url, concurrency: 4, durationSeconds: 0.3, timeoutMs: 1000, keepAlive: true });
    expect(most).toBe(4);
    expect(sockets.size).toBe(4);
    expect(summarize(records).failed).toBe(0);
    // ~5 ms per request, 4 at a time, for 0.3 s: well over 100 requests.
    expect(records.length).toBeGreaterThan(100);
    expect(performance.now() - started).toBeLessThan(1000);
  });

  it("spreads requests over several URLs in turn, at a fixed rate and at a fixed concurrency", async () => {
    const paths: string[] = [];
    const url = await listen((req, res) => {
      paths.push(req.url ?? "");
      res.end("OK");
    });
    const urls = [`${url}?a`, `${url}?b`];
    await runLoad({ url: urls, rate: 100, durationSeconds: 0.1, timeoutMs: 1000, keepAlive: true });
    expect(paths).toEqual(["/status?a", "/status?b", "/status?a", "/status?b", "/status?a", "/status?b", "/status?a", "/status?b", "/status?a", "/status?b"]);
    paths.length = 0;
    await runClosedLoop({ url: urls, concurrency: 2, durationSeconds: 0.1, timeoutMs: 1000, keepAlive: true });
    const a = paths.filter((p) => p.endsWith("?a")).length;
    expect(a).toBeGreaterThan(0);
    expect(Math.abs(a - (paths.length - a))).toBeLessThanOrEqual(1);
  });

  it("counts refused connections and timeouts as failures, each by kind", async () => {
    const url = await listen((req, res) => {
      if (req.url === "/status") setTimeout(() => res.end("late"), 500);
    });
    const refused = await runLoad({ url: "http://127.0.0.1:1/status", rate: 50, durationSeconds: 0.1, timeoutMs: 500, keepAlive: false });
    expect(summarize(refused).failures).toEqual({ ECONNREFUSED: 5 });
    const slow = await runLoad({ url, rate: 50, durationSeconds: 0.1, timeoutMs: 100, keepAlive: false });
    expect(summarize(slow).failures).toEqual({ timeout: 5 });
  });
});

describe("summarize", () => {
  const rec = (startMs: number, latencyMs: number, outcome = "ok"): RequestRecord => ({ startMs, latencyMs, outcome });

  it("finds the longest stretch without a success, and latency percentiles", () => {
    const records = [rec(0, 5), rec(100, 5), rec(200, 2000, "timeout"), rec(300, 5, "ECONNRESET"), rec(400, 5), rec(500, 5)];
    const summary = summarize(records);
    expect(summary.longestGapMs).toBe(300); // the success at 105 ms, the next at 405 ms
    expect(summary.failed).toBe(2);
    expect(summary.p50Ms).toBe(5);
    expect(summary.maxMs).toBe(2000);
  });

  it("counts a run with no success at all as one gap over the whole load", () => {
    expect(summarize([rec(0, 1, "timeout"), rec(1000, 1, "timeout")]).longestGapMs).toBe(1000);
  });
});
