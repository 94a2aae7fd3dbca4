/**
 * Values the topology must agree with. They live here, in one place, so that
 * the validator, the lab and the build scripts cannot drift apart.
 */

/**
 * The Consul version the project builds (see scripts/ensure-consul.sh) and
 * therefore the only one `consul.version` may name: a topology asking for
 * another version would describe binaries nobody built or tested.
 */
export const CONSUL_VERSION = "1.14.11";

/** The topology the CLI validates when given no file, relative to the cwd. */
export const DEFAULT_TOPOLOGY_FILE = "configs/topology.yml";

/**
 * Largest file the loader reads. Real topologies are a few KiB; capping the
 * read keeps `/dev/zero` or a mistyped path to a huge log from exhausting
 * memory, and keeps the YAML parser's worst cases short.
 */
export const MAX_TOPOLOGY_BYTES = 64 * 1024;
