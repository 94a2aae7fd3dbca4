/**
 * Output forms: the compiler-style lines editors and CI turn into links, and
 * JSON for scripts.
 */
import type { LoadResult, Topology, TopologyError } from "./types.js";

/**
 * @example
 * formatError({ file: "t.yml", line: 12, column: 5, rule: "unique-names", message: "...", fix: "..." })
 * // "t.yml:12:5: error [unique-names] ...\n    fix: ..."
 */
export function formatError(e: TopologyError): string {
  return `${e.file}:${e.line}:${e.column}: error [${e.rule}] ${e.message}\n    fix: ${e.fix}`;
}

/** All errors, then a count, as the CLI prints them to stderr. */
export function formatErrors(file: string, errors: readonly TopologyError[]): string {
  const count = `${errors.length} error${errors.length === 1 ? "" : "s"}`;
  return [...errors.map(formatError), `${file}: invalid (${count})`].join("\n");
}

/** @example formatValid("configs/topology.yml", t) // "configs/topology.yml: valid (3 consul servers, 2 load balancers, 3 app hosts)" */
export function formatValid(file: string, t: Topology): string {
  const counts = `${t.consul.servers.length} consul servers, ${t.load_balancers.nodes.length} load balancers, ${t.app.hosts.length} app hosts`;
  return `${file}: valid (${counts})`;
}

/** @example formatJson("t.yml", result) // '{"file":"t.yml","valid":false,"errors":[{"file":"t.yml","line":3,...}]}' */
export function formatJson(file: string, result: LoadResult): string {
  return JSON.stringify({ file, valid: result.ok, errors: result.ok ? [] : result.errors }, null, 2);
}
