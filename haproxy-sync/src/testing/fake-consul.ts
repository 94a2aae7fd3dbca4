import { createServer, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { HealthEntry } from "../../../lib/consul.js";

/**
 * How the fake answers /v1/health/service/<name>:
 * - "consul": like Consul, a blocking query (index ≥ the current one) is held
 *   until the entries change or its `wait` runs out;
 * - "no-index": at once, 200 and the entries but no X-Consul-Index (what a
 *   proxy or a non-Consul server in front of the address can do);
 * - "drop": the connection is cut, as when the agent is gone.
 */
export type FakeConsulMode = "consul" | "no-index" | "drop";

export interface FakeConsul {
  readonly url: string;
  /** Health requests received so far, answered or not. */
  readonly requests: number;
  /** Their query strings, in order ("index=0&wait=30s&consistent"). */
  readonly queries: string[];
  /** Blocking queries being held right now. */
  readonly held: number;
  /** Replaces the service's entries: a new index, and held queries answer. */
  setEntries(entries: HealthEntry[]): void;
  /** Switching to "drop" also cuts the queries being held. */
  setMode(mode: FakeConsulMode): void;
  close(): Promise<void>;
}

/**
 * An in-process stand-in for a Consul agent's health endpoint, for the paths
 * a real agent will not take on demand (an answer without X-Consul-Index) and
 * for tests that must count requests.
 *
 * @example
 * const consul = await startFakeConsul([]);
 * consul.setEntries([entry]); // the sync's pending blocking query answers now
 */
export async function startFakeConsul(initial: HealthEntry[] = []): Promise<FakeConsul> {
  let entries = initial;
  let index = 1;
  let mode: FakeConsulMode = "consul";
  let requests = 0;
  const queries: string[] = [];
  const waiting = new Set<{ res: ServerResponse; timer: NodeJS.Timeout }>();

  const answer = (res: ServerResponse, withIndex = true) => {
    res.writeHead(200, { "Content-Type": "application/json", ...(withIndex ? { "X-Consul-Index": String(index) } : {}) });
    res.end(JSON.stringify(entries));
  };

  const server = createServer((req, res) => {
    requests += 1;
    const url = new URL(req.url ?? "/", "http://fake");
    queries.push(url.search.slice(1));
    if (mode === "drop") return void req.socket.destroy();
    if (!url.pathname.startsWith("/v1/health/service/")) {
      res.writeHead(404).end("not found");
      return;
    }
    if (mode === "no-index") return answer(res, false);
    const after = Number(url.searchParams.get("index") ?? "0");
    if (after < index) return answer(res);
    const waitMs = Number.parseInt(url.searchParams.get("wait") ?? "300", 10) * 1000;
    const held = { res, timer: setTimeout(() => release(held), waitMs) };
    waiting.add(held);
    // The client gave up (an aborted fetch): forget it.
    res.on("close", () => {
      clearTimeout(held.timer);
      waiting.delete(held);
    });
  });

  function release(held: { res: ServerResponse; timer: NodeJS.Timeout }) {
    clearTimeout(held.timer);
    waiting.delete(held);
    answer(held.res);
  }

  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}`,
    get requests() {
      return requests;
    },
    get queries() {
      return queries;
    },
    get held() {
      return waiting.size;
    },
    setEntries(next) {
      entries = next;
      index += 1;
      for (const held of [...waiting]) release(held);
    },
    setMode(next) {
      mode = next;
      if (mode === "drop") for (const held of [...waiting]) held.res.socket?.destroy();
    },
    async close() {
      for (const held of waiting) clearTimeout(held.timer);
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
