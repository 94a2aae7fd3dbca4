import { errorMessage } from "./log.js";

/**
 * The handful of Consul agent endpoints the registration agent needs, over
 * plain HTTP (fetch). Always the *local* agent: it owns the registration,
 * runs the health check and syncs both to the servers.
 */

export interface ServiceDefinition {
  ID: string;
  Name: string;
  Address: string;
  Port: number;
  Tags: string[];
  Meta: Record<string, string>;
  Weights: { Passing: number; Warning: number };
  Check: {
    CheckID: string;
    Name: string;
    HTTP: string;
    Method: "GET";
    Interval: string;
    Timeout: string;
    DeregisterCriticalServiceAfter: string;
  };
}

/** What GET /v1/agent/service/:id returns (the fields we read). */
export interface AgentService {
  ID: string;
  Service: string;
  Address: string;
  Port: number;
  Tags: string[] | null;
  Meta: Record<string, string> | null;
  Weights: { Passing: number; Warning: number };
}

export interface AgentCheck {
  CheckID: string;
  Name: string;
  Status: "passing" | "warning" | "critical" | "maintenance";
  Output: string;
  /** For a maintenance check: the reason given when it was enabled. */
  Notes?: string;
  ServiceID: string;
  /** "http", "maintenance", ... (empty in the health API's older answers). */
  Type?: string;
  /** As registered, e.g. "1s"; the agent does not echo the HTTP URL back. */
  Interval?: string;
  Timeout?: string;
}

export interface HealthEntry {
  Node: { Node: string; Address: string };
  Service: AgentService;
  Checks: AgentCheck[];
}

/** A failed call: `status` is the HTTP status, or undefined when Consul could not be reached. */
export class ConsulError extends Error {
  constructor(
    message: string,
    readonly status?: number,
  ) {
    super(message);
    this.name = "ConsulError";
  }
}

/**
 * Every call takes an optional AbortSignal on top of the client's own timeout,
 * so a caller with a deadline (a drain, a shutdown) is never held by a hung agent.
 */
export interface CallOptions {
  signal?: AbortSignal;
}

export interface ConsulClient {
  readonly address: string;
  /**
   * Registers or updates a service. Checks the definition does not name are
   * kept (maintenance among them); remove strays with `deregisterCheck`.
   */
  register(def: ServiceDefinition, options?: CallOptions): Promise<void>;
  deregisterCheck(checkId: string, options?: CallOptions): Promise<void>;
  deregister(serviceId: string, options?: CallOptions): Promise<void>;
  /** The local agent's view of one service, or undefined when it does not know it. */
  service(serviceId: string, options?: CallOptions): Promise<AgentService | undefined>;
  /** Checks of one service on the local agent (maintenance shows as a critical `_service_maintenance:` check). */
  checks(serviceId: string, options?: CallOptions): Promise<AgentCheck[]>;
  maintenance(serviceId: string, enable: boolean, reason: string, options?: CallOptions): Promise<void>;
  /** The catalog's view through the servers: every instance of a service, with its checks. */
  health(serviceName: string, passingOnly?: boolean, options?: CallOptions): Promise<HealthEntry[]>;
  /**
   * A blocking query on the same view: returns when it changes after `index`
   * (or after `waitSeconds`), with the index to pass next time. An answer
   * without a valid X-Consul-Index is an error: retrying it at once would be a busy loop.
   */
  watchHealth(serviceName: string, index: string, waitSeconds: number, options?: CallOptions): Promise<{ entries: HealthEntry[]; index: string }>;
}

/**
 * @example
 * const consul = createConsulClient("http://127.0.0.1:8500", process.env.CONSUL_HTTP_TOKEN);
 * await consul.register(definition);
 */
export function createConsulClient(address: string, token?: string, timeoutMs = 3000): ConsulClient {
  async function call(method: "GET" | "PUT", path: string, { signal }: CallOptions = {}, body?: unknown, callTimeoutMs = timeoutMs): Promise<Response> {
    const headers: Record<string, string> = {};
    if (token) headers["X-Consul-Token"] = token;
    if (body !== undefined) headers["Content-Type"] = "application/json";
    let res: Response;
    try {
      res = await fetch(`${address}${path}`, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: signal ? AbortSignal.any([signal, AbortSignal.timeout(callTimeoutMs)]) : AbortSignal.timeout(callTimeoutMs),
      });
    } catch (err) {
      throw new ConsulError(`cannot reach the Consul agent at ${address} (${method} ${path}): ${errorMessage(err)}`);
    }
    return res;
  }

  async function expectOk(res: Response, what: string): Promise<void> {
    if (res.ok) return;
    const text = (await res.text()).trim();
    const hint = res.status === 403 ? " — the ACL token lacks permission (set CONSUL_HTTP_TOKEN)" : "";
    throw new ConsulError(`${what} failed: HTTP ${res.status} ${text}${hint}`, res.status);
  }

  return {
    address,
    async register(def, options) {
      // Not replace-existing-checks: that would also drop an operator's
      // maintenance. The registration loop removes stray checks itself.
      await expectOk(await call("PUT", "/v1/agent/service/register", options, def), `registering ${def.ID}`);
    },
    async deregisterCheck(checkId, options) {
      const res = await call("PUT", `/v1/agent/check/deregister/${encodeURIComponent(checkId)}`, options);
      if (res.status === 404) return;
      await expectOk(res, `removing check ${checkId}`);
    },
    async deregister(serviceId, options) {
      const res = await call("PUT", `/v1/agent/service/deregister/${encodeURIComponent(serviceId)}`, options);
      if (res.status === 404) return; // already gone: the goal is met
      await expectOk(res, `deregistering ${serviceId}`);
    },
    async service(serviceId, options) {
      const res = await call("GET", `/v1/agent/service/${encodeURIComponent(serviceId)}`, options);
      if (res.status === 404) return undefined;
      await expectOk(res, `reading ${serviceId}`);
      return (await res.json()) as AgentService;
    },
    async checks(serviceId, options) {
      const res = await call("GET", `/v1/agent/checks?filter=${encodeURIComponent(`ServiceID == "${serviceId}"`)}`, options);
      await expectOk(res, `reading checks of ${serviceId}`);
      return Object.values((await res.json()) as Record<string, AgentCheck>);
    },
    async maintenance(serviceId, enable, reason, options) {
      const query = `enable=${enable}&reason=${encodeURIComponent(reason)}`;
      await expectOk(await call("PUT", `/v1/agent/service/maintenance/${encodeURIComponent(serviceId)}?${query}`, options), `${enable ? "enabling" : "disabling"} maintenance of ${serviceId}`);
    },
    async health(serviceName, passingOnly = false, options) {
      const res = await call("GET", `/v1/health/service/${encodeURIComponent(serviceName)}${passingOnly ? "?passing=true" : ""}`, options);
      await expectOk(res, `reading the health of ${serviceName}`);
      return (await res.json()) as HealthEntry[];
    },
    async watchHealth(serviceName, index, waitSeconds, options) {
      // Consul adds up to wait/16 of jitter; allow for it plus the usual timeout.
      // A whole read (index 0: the first, and the one after every outage) is
      // `consistent`: after all servers restart, a just-elected leader answers
      // default reads from its state store before it has replayed its Raft log
      // (Consul 1.14 checks readiness only for consistent reads), so an
      // answer could miss every instance, and HAProxy would take them all out.
      // Blocking queries after it need not: their index is at or past a
      // consistent view's, and the agent serves them from its stream.
      const path = `/v1/health/service/${encodeURIComponent(serviceName)}?index=${index}&wait=${waitSeconds}s${index === "0" ? "&consistent" : ""}`;
      const res = await call("GET", path, options, undefined, waitSeconds * 1100 + timeoutMs);
      await expectOk(res, `watching the health of ${serviceName}`);
      const next = res.headers.get("X-Consul-Index");
      if (!next || !/^[1-9]\d*$/.test(next)) {
        throw new ConsulError(`watching the health of ${serviceName}: the answer has no valid X-Consul-Index (got ${JSON.stringify(next)}); is ${address} a Consul agent?`, res.status);
      }
      return { entries: (await res.json()) as HealthEntry[], index: next };
    },
  };
}
