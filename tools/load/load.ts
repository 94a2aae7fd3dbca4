import { Agent, request } from "node:http";
import { setTimeout as sleep } from "node:timers/promises";

export interface LoadOptions {
  /** What every request GETs, e.g. http://10.77.0.100/status; with several, request i GETs url[i mod n]. */
  url: string | readonly string[];
  /** Requests started per second, on a fixed schedule (open loop: a slow answer does not slow the load). */
  rate: number;
  /** How long the load runs; with `rate` it fixes the request count. */
  durationSeconds: number;
  /** Per-request bound: connect + answer. */
  timeoutMs: number;
  /** Reuse connections (a pool) instead of one new connection per request. */
  keepAlive: boolean;
  /** Stops scheduling new requests early; those in flight still finish. */
  signal?: AbortSignal;
}

/** One request as the client saw it. `outcome` is "ok", "http_<status>" or the error kind. */
export interface RequestRecord {
  /** Milliseconds since the load started. */
  startMs: number;
  latencyMs: number;
  outcome: string;
  /** X-Cabify-Instance, X-Cabify-Version and X-LB of the answer, when there was one. */
  instance?: string;
  version?: string;
  lb?: string;
}

/**
 * Sends a bounded, counted load and records every request. The schedule is
 * fixed in advance (request i at i/rate s) so a failover cannot hide behind a
 * client that slowed down; the count is exactly rate × duration unless aborted.
 *
 * @example
 * const records = await runLoad({ url: "http://10.78.0.100/status", rate: 100, durationSeconds: 20, timeoutMs: 2000, keepAlive: false });
 * summarize(records).failed // 0
 */
export async function runLoad({ url, rate, durationSeconds, timeoutMs, keepAlive, signal }: LoadOptions): Promise<RequestRecord[]> {
  if (!(rate > 0 && durationSeconds > 0 && rate * durationSeconds <= 1_000_000)) throw new Error("rate and duration must be positive, at most 1e6 requests in all");
  const agent = new Agent({ keepAlive, maxSockets: keepAlive ? 16 : Infinity });
  const total = Math.round(rate * durationSeconds);
  const started = performance.now();
  const pending: Promise<RequestRecord>[] = [];
  try {
    for (let i = 0; i < total && !signal?.aborted; i++) {
      const due = started + (i * 1000) / rate;
      const wait = due - performance.now();
      if (wait > 1) await sleep(wait);
      pending.push(one(pick(url, i), agent, timeoutMs, started));
    }
    return await Promise.all(pending);
  } finally {
    agent.destroy();
  }
}

export interface ClosedLoopOptions {
  /** With several, worker i sends to url[i mod n]. */
  url: string | readonly string[];
  /** Requests in flight at all times: each worker sends its next request when the last one came back. */
  concurrency: number;
  durationSeconds: number;
  timeoutMs: number;
  keepAlive: boolean;
}

/**
 * Fixed concurrency (closed loop, like wrk): `concurrency` workers, each
 * sending its next request as soon as the last one came back, for
 * `durationSeconds`. Measures throughput; `runLoad` measures what a client
 * sees at a given rate. Every request is recorded.
 *
 * @example
 * const records = await runClosedLoop({ url: "http://10.78.0.100/status", concurrency: 10, durationSeconds: 10, timeoutMs: 2000, keepAlive: true });
 */
export async function runClosedLoop({ url, concurrency, durationSeconds, timeoutMs, keepAlive }: ClosedLoopOptions): Promise<RequestRecord[]> {
  if (!(Number.isInteger(concurrency) && concurrency > 0 && concurrency <= 1000 && durationSeconds > 0 && durationSeconds <= 600)) throw new Error("concurrency must be 1..1000 and the duration 0..600 s");
  const agent = new Agent({ keepAlive, maxSockets: concurrency });
  const started = performance.now();
  const end = started + durationSeconds * 1000;
  const records: RequestRecord[] = [];
  const worker = async (target: string) => {
    while (performance.now() < end) records.push(await one(target, agent, timeoutMs, started));
  };
  try {
    await Promise.all(Array.from({ length: concurrency }, (_, i) => worker(pick(url, i))));
    return records;
  } finally {
    agent.destroy();
  }
}

const pick = (url: string | readonly string[], i: number): string => (typeof url === "string" ? url : url[i % url.length]!);

function one(url: string, agent: Agent, timeoutMs: number, origin: number): Promise<RequestRecord> {
  const t0 = performance.now();
  const done = (outcome: string, headers: Record<string, string | string[] | undefined> = {}): RequestRecord => {
    const header = (name: string) => {
      const value = headers[name];
      return typeof value === "string" ? { [name === "x-lb" ? "lb" : name.slice("x-cabify-".length)]: value } : {};
    };
    return { startMs: t0 - origin, latencyMs: performance.now() - t0, outcome, ...header("x-cabify-instance"), ...header("x-cabify-version"), ...header("x-lb") };
  };
  return new Promise((resolve) => {
    const req = request(url, { agent, timeout: timeoutMs }, (res) => {
      res.resume();
      res.once("end", () => resolve(done(res.statusCode === 200 ? "ok" : `http_${res.statusCode}`, res.headers)));
      res.once("error", (err: NodeJS.ErrnoException) => resolve(done(err.code ?? "response_error")));
    });
    // One bound for the whole exchange, not only for socket inactivity.
    const timer = setTimeout(() => req.destroy(Object.assign(new Error("timeout"), { code: "timeout" })), timeoutMs);
    req.once("close", () => clearTimeout(timer));
    req.once("timeout", () => req.destroy(Object.assign(new Error("timeout"), { code: "timeout" })));
    req.once("error", (err: NodeJS.ErrnoException) => resolve(done(err.code ?? "error")));
    req.end();
  });
}

export interface LoadSummary {
  sent: number;
  ok: number;
  failed: number;
  /** Failed requests by kind: "ECONNREFUSED", "timeout", "http_503", ... */
  failures: Record<string, number>;
  /** Longest stretch, in ms, in which no request that had been sent came back ok. */
  longestGapMs: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  /** Successful answers per instance. */
  perInstance: Record<string, number>;
  /** Successful answers per version (X-Cabify-Version). */
  perVersion: Record<string, number>;
}

/** The q-quantile (nearest rank) of ascending `sorted`; 0 when empty. */
export const percentile = (sorted: readonly number[], q: number): number => (sorted.length === 0 ? 0 : sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)]!);

/** Totals, failures, latency percentiles and the longest gap of a recorded load. */
export function summarize(records: RequestRecord[]): LoadSummary {
  const failures: Record<string, number> = {};
  const perInstance: Record<string, number> = {};
  const perVersion: Record<string, number> = {};
  for (const r of records) {
    if (r.outcome !== "ok") failures[r.outcome] = (failures[r.outcome] ?? 0) + 1;
    else {
      if (r.instance) perInstance[r.instance] = (perInstance[r.instance] ?? 0) + 1;
      if (r.version) perVersion[r.version] = (perVersion[r.version] ?? 0) + 1;
    }
  }
  const latencies = records.map((r) => r.latencyMs).sort((a, b) => a - b);
  const ok = records.filter((r) => r.outcome === "ok").length;
  return { sent: records.length, ok, failed: records.length - ok, failures, longestGapMs: longestGap(records), p50Ms: percentile(latencies, 0.5), p99Ms: percentile(latencies, 0.99), maxMs: latencies.at(-1) ?? 0, perInstance, perVersion };
}

/**
 * The longest time between two successes (by completion), counting from the
 * first request's start to the last request's start: a client retrying every
 * few ms would have seen nothing work for that long.
 */
function longestGap(records: RequestRecord[]): number {
  if (records.length === 0) return 0;
  const from = Math.min(...records.map((r) => r.startMs));
  const to = Math.max(...records.map((r) => r.startMs));
  const successes = records.filter((r) => r.outcome === "ok").map((r) => r.startMs + r.latencyMs).sort((a, b) => a - b);
  let previous = from;
  let longest = 0;
  for (const t of successes) {
    longest = Math.max(longest, Math.min(t, to) - previous);
    previous = Math.max(previous, t);
  }
  return Math.max(longest, to - previous);
}
