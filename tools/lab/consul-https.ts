import { readFileSync } from "node:fs";
import { Agent, request } from "node:https";
import { join } from "node:path";
import type { Topology } from "../topology/types.js";
import { secretsDir } from "./status.js";

/**
 * The Consul servers' API port beyond their own host: HTTPS only (plain HTTP
 * listens on 127.0.0.1). The consul role's `consul_https_port` default.
 */
export const CONSUL_HTTPS_PORT = 8501;

/** The cluster CA that ansible/secrets.yml made: what this machine trusts when it calls a server. */
export const clusterCaFile = (topology: Topology) => join(secretsDir(topology), "tls", "ca.crt");

export interface ConsulHttps {
  /** GET `path` on the server at `address`; rejects on a network or TLS error, or after `timeoutMs`. */
  get(address: string, path: string, timeoutMs: number): Promise<{ status: number; body: string }>;
}

/**
 * Calls the servers' HTTPS API from this machine, verifying each server's
 * certificate against the cluster CA (read on first use: the lab writes it).
 * Connections are kept alive, so polling does not pay a handshake per call.
 *
 * @example
 * const api = consulHttps(topology);
 * const { body } = await api.get("10.77.0.11", "/v1/status/leader", 250); // '"10.77.0.12:8300"'
 */
export function consulHttps(topology: Topology): ConsulHttps {
  let agent: Agent | undefined;
  return {
    get(address, path, timeoutMs) {
      agent ??= new Agent({ ca: readFileSync(clusterCaFile(topology)), keepAlive: true });
      return new Promise((resolve, reject) => {
        const req = request({ host: address, port: CONSUL_HTTPS_PORT, path, agent, timeout: timeoutMs }, (res) => {
          let body = "";
          res.setEncoding("utf8");
          res.on("data", (chunk: string) => (body += chunk));
          res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
          res.on("error", reject);
        });
        req.on("timeout", () => req.destroy(new Error(`no answer from ${address}:${CONSUL_HTTPS_PORT} within ${timeoutMs} ms`)));
        req.on("error", reject);
        req.end();
      });
    },
  };
}
