import { hostname, networkInterfaces } from "node:os";
import type { LogLevel } from "../../lib/log.js";
import { DEFAULT_SERVICE_NAME } from "../../lib/names.js";

export type { LogLevel };

/** Everything the service and its registration agent read from the environment. */
export interface Config {
  /** Consul service name, also the metric prefix's label. */
  serviceName: string;
  /** Unique per host + port, so two instances on one host never collide in Consul. */
  serviceId: string;
  version: string;
  /** Address the listener binds to. */
  bindAddress: string;
  /** Address announced to Consul and reported by `GET /status`. */
  advertiseAddress: string;
  port: number;
  tags: string[];
  /** Consul weight while passing (HAProxy maps it to the server weight). */
  weight: number;
  consul: {
    /** Base URL of the *local* Consul agent, e.g. http://127.0.0.1:8500. */
    address: string;
    token: string | undefined;
    /** Whether the service registers itself (false when a sidecar does it). */
    register: boolean;
    checkIntervalSeconds: number;
    checkTimeoutSeconds: number;
    deregisterCriticalAfterSeconds: number;
    /** How often the agent checks that the local Consul agent still knows us. */
    resyncIntervalSeconds: number;
  };
  drain: {
    /** Pause between turning unready and closing the listener, so load balancers notice first. */
    delaySeconds: number;
    /** Upper bound on the whole drain; in-flight requests past it are cut. */
    timeoutSeconds: number;
  };
  logLevel: LogLevel;
  /** Enables /debug/sleep, used by tests to hold a request in flight. Never in production. */
  debugRoutes: boolean;
}


export type Env = Record<string, string | undefined>;

/** A configuration problem, phrased so the operator knows what to change. */
export interface ConfigError {
  variable: string;
  message: string;
}

export type ConfigResult = { ok: true; config: Config } | { ok: false; errors: ConfigError[] };

/**
 * Reads and validates the configuration. Every problem is collected, so one
 * run shows them all instead of one per restart.
 *
 * @example
 * const result = loadConfig(process.env);
 * if (!result.ok) for (const e of result.errors) console.error(`${e.variable}: ${e.message}`);
 */
export function loadConfig(env: Env, defaults: { version: string } = { version: "0.0.0" }): ConfigResult {
  const errors: ConfigError[] = [];
  const read = new Reader(env, errors);

  const serviceName = read.match("SERVICE_NAME", DEFAULT_SERVICE_NAME, /^[a-z][a-z0-9-]{0,62}$/, "lowercase letters, digits and dashes");
  const port = read.integer("PORT", 8080, 1, 65535);
  const advertiseAddress = read.match("ADVERTISE_ADDRESS", firstExternalIPv4(), IPV4, "an IPv4 address");
  const config: Config = {
    serviceName,
    serviceId: read.match("SERVICE_ID", `${serviceName}-${hostname()}-${port}`, /^[A-Za-z0-9._-]{1,128}$/, "letters, digits, '.', '_' and '-'"),
    version: read.match("SERVICE_VERSION", defaults.version, /^\d+\.\d+\.\d+([-+][0-9A-Za-z.-]+)?$/, "a semantic version like 1.2.3"),
    bindAddress: read.match("BIND_ADDRESS", "0.0.0.0", IPV4, "an IPv4 address"),
    advertiseAddress,
    port,
    tags: read.list("SERVICE_TAGS", []),
    weight: read.integer("SERVICE_WEIGHT", 10, 1, 256),
    consul: {
      address: read.url("CONSUL_HTTP_ADDR", "http://127.0.0.1:8500"),
      token: read.secret("CONSUL_HTTP_TOKEN"),
      register: read.boolean("CONSUL_REGISTER", true),
      checkIntervalSeconds: read.number("CHECK_INTERVAL_SECONDS", 1, 0.1, 3600),
      checkTimeoutSeconds: read.number("CHECK_TIMEOUT_SECONDS", 1, 0.1, 3600),
      deregisterCriticalAfterSeconds: read.number("DEREGISTER_CRITICAL_AFTER_SECONDS", 60, 60, 86400 * 7),
      resyncIntervalSeconds: read.number("RESYNC_INTERVAL_SECONDS", 2, 0.1, 3600),
    },
    drain: {
      delaySeconds: read.number("DRAIN_DELAY_SECONDS", 1, 0, 600),
      timeoutSeconds: read.number("DRAIN_TIMEOUT_SECONDS", 15, 0.1, 3600),
    },
    logLevel: read.oneOf("LOG_LEVEL", "info", ["debug", "info", "warn", "error"] as const),
    debugRoutes: read.boolean("DEBUG_ROUTES", false),
  };
  if (config.consul.checkTimeoutSeconds > config.consul.checkIntervalSeconds) {
    errors.push({ variable: "CHECK_TIMEOUT_SECONDS", message: `must not exceed CHECK_INTERVAL_SECONDS (${config.consul.checkIntervalSeconds})` });
  }
  if (config.drain.delaySeconds >= config.drain.timeoutSeconds) {
    errors.push({ variable: "DRAIN_DELAY_SECONDS", message: `must be below DRAIN_TIMEOUT_SECONDS (${config.drain.timeoutSeconds}), or nothing is left for in-flight requests` });
  }
  return errors.length > 0 ? { ok: false, errors } : { ok: true, config };
}

const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;

/** The address other hosts can reach us on; loopback only when there is nothing else. */
function firstExternalIPv4(): string {
  for (const addresses of Object.values(networkInterfaces())) {
    const external = addresses?.find((a) => a.family === "IPv4" && !a.internal);
    if (external) return external.address;
  }
  return "127.0.0.1";
}

/** Reads one variable at a time, recording an error (and returning the default) on bad input. */
class Reader {
  constructor(
    private readonly env: Env,
    private readonly errors: ConfigError[],
  ) {}

  /**
   * The trimmed value, or undefined when the variable is not set. A variable
   * set to nothing is an error rather than "use the default": `CONSUL_HTTP_ADDR=`
   * in an env file is far more often a template that lost its value than a
   * wish for 127.0.0.1:8500.
   */
  private raw(name: string): string | undefined {
    const value = this.env[name];
    if (value === undefined) return undefined;
    const trimmed = value.trim();
    if (trimmed === "") {
      this.errors.push({ variable: name, message: "is set but empty; give it a value or unset it to use the default" });
      return undefined;
    }
    return trimmed;
  }

  private fail<T>(name: string, value: string, expected: string, fallback: T): T {
    this.errors.push({ variable: name, message: `is "${value}"; expected ${expected}` });
    return fallback;
  }

  match(name: string, fallback: string, pattern: RegExp, expected: string): string {
    const value = this.raw(name);
    if (value === undefined) return fallback;
    return pattern.test(value) ? value : this.fail(name, value, expected, fallback);
  }

  // Plain decimal only: Number() also accepts "0x4C6D", "1e2", "0b1" and " ",
  // which no operator means when writing PORT or a timeout.
  number(name: string, fallback: number, min: number, max: number): number {
    const value = this.raw(name);
    if (value === undefined) return fallback;
    const n = /^\d+(\.\d+)?$/.test(value) ? Number(value) : NaN;
    return n >= min && n <= max ? n : this.fail(name, value, `a decimal number from ${min} to ${max}`, fallback);
  }

  integer(name: string, fallback: number, min: number, max: number): number {
    const value = this.raw(name);
    if (value === undefined) return fallback;
    const n = /^\d+$/.test(value) ? Number(value) : NaN;
    return n >= min && n <= max ? n : this.fail(name, value, `a whole decimal number from ${min} to ${max}`, fallback);
  }

  /** A secret: never echoed back in an error message. */
  secret(name: string): string | undefined {
    return this.raw(name);
  }

  boolean(name: string, fallback: boolean): boolean {
    const value = this.raw(name)?.toLowerCase();
    if (value === undefined) return fallback;
    if (["1", "true", "yes", "on"].includes(value)) return true;
    if (["0", "false", "no", "off"].includes(value)) return false;
    return this.fail(name, value, "true or false", fallback);
  }

  oneOf<const T extends string>(name: string, fallback: T, allowed: readonly T[]): T {
    const value = this.raw(name);
    if (value === undefined) return fallback;
    return (allowed as readonly string[]).includes(value) ? (value as T) : this.fail(name, value, `one of ${allowed.join(", ")}`, fallback);
  }

  list(name: string, fallback: string[]): string[] {
    const value = this.raw(name);
    return value === undefined ? fallback : value.split(",").map((s) => s.trim()).filter(Boolean);
  }

  url(name: string, fallback: string): string {
    const value = this.raw(name);
    if (value === undefined) return fallback;
    try {
      const url = new URL(value.includes("://") ? value : `http://${value}`);
      if (url.protocol === "http:" || url.protocol === "https:") return url.origin;
    } catch {
      // fall through to the error below
    }
    return this.fail(name, value, "an http(s) URL like http://127.0.0.1:8500", fallback);
  }
}
