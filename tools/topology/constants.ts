/**
 * Values the topology must agree with. They live here, in one place, so that
 * the validator, the lab and the build scripts cannot drift apart.
 */
import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

/** The file at the repository root that pins every version the project builds. */
const VERSIONS_FILE = "versions.env";

/**
 * The Consul version the project builds (CONSUL_VERSION in versions.env, which
 * scripts/ensure-consul.sh sources) and therefore the only one `consul.version`
 * may name: a topology asking for another version would describe binaries
 * nobody built or tested.
 */
export const CONSUL_VERSION = pinnedVersion("CONSUL_VERSION");

/** The topology the CLI validates when given no file, relative to the cwd. */
export const DEFAULT_TOPOLOGY_FILE = "configs/topology.yml";

/**
 * Largest file the loader reads. Real topologies are a few KiB; capping the
 * read keeps `/dev/zero` or a mistyped path to a huge log from exhausting
 * memory, and keeps the YAML parser's worst cases short.
 */
export const MAX_TOPOLOGY_BYTES = 64 * 1024;

/**
 * Reads `key` from versions.env. The file is looked for next to this module
 * and in each parent directory, so it is found from tools/topology/ (tsx) and
 * from dist/tools/topology/ (compiled) alike, whatever the cwd is.
 *
 * @example
 * pinnedVersion("CONSUL_VERSION") // "1.14.11"
 */
function pinnedVersion(key: string): string {
  const file = findUp(dirname(fileURLToPath(import.meta.url)), VERSIONS_FILE);
  if (file === undefined) {
    throw new Error(`cannot read ${key}: no ${VERSIONS_FILE} in ${dirname(fileURLToPath(import.meta.url))} or any parent directory (it belongs at the repository root)`);
  }
  const value = parseVersionsEnv(readFileSync(file, "utf8"), file).get(key);
  if (value === undefined || value === "") throw new Error(`${file} has no ${key}=<version> line`);
  return value;
}

/** The first `dir/name`, `dir/../name`, ... that exists, up to the filesystem root. */
function findUp(dir: string, name: string): string | undefined {
  for (let current = dir; ; current = dirname(current)) {
    const candidate = join(current, name);
    if (existsSync(candidate)) return candidate;
    if (dirname(current) === current) return undefined;
  }
}

/**
 * Parses the shell-sourceable KEY=value lines of versions.env. Blank lines and
 * `#` comments are skipped; one pair of surrounding quotes is dropped, as the
 * shell would. Any other line is an error, so a typo cannot pass unnoticed.
 */
function parseVersionsEnv(text: string, file: string): Map<string, string> {
  const values = new Map<string, string>();
  for (const [index, raw] of text.split(/\r?\n/).entries()) {
    const line = raw.trim();
    if (line === "" || line.startsWith("#")) continue;
    const match = /^([A-Za-z_][A-Za-z0-9_]*)=(?:"([^"]*)"|'([^']*)'|([^\s"'#]*))$/.exec(line);
    if (!match) throw new Error(`${file}:${index + 1}: expected KEY=value, got ${JSON.stringify(raw)}`);
    values.set(match[1]!, match[2] ?? match[3] ?? match[4] ?? "");
  }
  return values;
}
