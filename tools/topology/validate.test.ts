import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import schema from "../../configs/topology.schema.json" with { type: "json" };
import { MAX_TOPOLOGY_BYTES } from "./constants.js";
import { formatError, formatJson } from "./format.js";
import { loadTopology, UnreadableError, validateTopologyText } from "./load.js";
import { RULES } from "./rules.js";
import type { LoadResult } from "./types.js";

const FIXTURES = fileURLToPath(new URL("../../tests/fixtures/topology/", import.meta.url));
const REAL = fileURLToPath(new URL("../../configs/topology.yml", import.meta.url));

/** [fixture, rule, line, column] of the first error, in file order; then the error count when it is not 1. */
const BROKEN: [name: string, rule: string, line: number, column: number, count?: number][] = [
  // YAML syntax, encoding and loading
  ["duplicate-key", "yaml-syntax", 37, 43],
  ["tab-indent-syntax", "yaml-syntax", 47, 1, 3],
  ["unclosed-flow-map", "yaml-syntax", 34, 1],
  ["multiple-documents", "yaml-syntax", 50, 1],
  ["alias-bomb", "yaml-syntax", 1, 1],
  ["not-utf8", "yaml-syntax", 1, 50],
  // schema: shape
  ["empty", "schema/type", 1, 1],
  ["comments-only", "schema/type", 1, 1],
  ["not-a-map", "schema/type", 2, 1],
  ["scalar-document", "schema/type", 2, 1],
  ["section-not-a-map", "schema/type", 13, 6],
  ["null-value", "schema/type", 11, 3],
  ["deeply-nested-junk", "schema/type", 4, 9],
  ["missing-section", "schema/required", 3, 1],
  ["missing-host-address", "schema/required", 37, 7],
  ["unknown-key", "schema/additionalProperties", 40, 1],
  ["misspelled-key", "schema/required", 18, 1, 2],
  ["too-few-consul-servers", "schema/minItems", 21, 3],
  ["too-many-consul-servers", "schema/maxItems", 21, 3],
  ["single-load-balancer", "schema/minItems", 30, 3],
  ["single-app-host", "schema/minItems", 35, 3],
  // schema: values
  ["bad-ip", "schema/pattern", 23, 34],
  ["ip-leading-zero", "schema/pattern", 36, 31],
  ["bad-subnet-cidr", "schema/pattern", 10, 11],
  ["bad-host-name", "schema/pattern", 36, 15],
  ["bad-cluster-name", "schema/pattern", 4, 9],
  ["bad-datacenter", "schema/pattern", 5, 15],
  ["image-with-tag", "schema/pattern", 43, 10],
  ["service-version-not-semver", "schema/pattern", 44, 12],
  ["consul-version-number", "schema/type", 19, 12],
  ["port-out-of-range", "schema/maximum", 42, 9],
  ["port-zero", "schema/minimum", 27, 18],
  ["port-quoted-string", "schema/type", 28, 15],
  ["virtual-router-id-out-of-range", "schema/maximum", 15, 22],
  ["advert-interval-too-small", "schema/minimum", 16, 20],
  ["lb-priority-out-of-range", "schema/maximum", 31, 52],
  ["batch-size-zero", "schema/minimum", 47, 15],
  ["fractional-seconds", "schema/type", 48, 23],
  ["huge-number", "schema/type", 49, 26],
  // semantic rules
  ["even-consul-servers", "consul-servers-odd", 21, 3],
  ["duplicate-host-name", "unique-names", 38, 15],
  ["duplicate-address", "unique-addresses", 38, 31],
  ["subnet-host-bits-set", "subnet-network-address", 10, 11],
  ["subnet-prefix-too-short", "subnet-network-address", 10, 11],
  ["subnet-loopback", "subnet-usable-range", 10, 11],
  ["host-outside-subnet", "address-in-subnet", 37, 31],
  ["vip-outside-subnet", "address-in-subnet", 14, 12],
  ["gateway-outside-subnet", "address-in-subnet", 11, 12],
  ["host-on-broadcast", "address-reserved", 38, 31],
  ["host-on-gateway", "address-reserved", 36, 31],
  ["vip-on-network-address", "address-reserved", 14, 12],
  ["vip-is-host", "vip-not-host", 14, 12],
  ["equal-lb-priorities", "lb-priorities-distinct", 32, 52],
  ["batch-size-equals-hosts", "batch-size-below-hosts", 47, 15],
  ["service-port-equals-stats-port", "ports-distinct", 42, 9],
  ["frontend-equals-stats-port", "ports-distinct", 28, 15],
  ["wrong-consul-version", "consul-version-pinned", 19, 12],
  ["advert-interval-not-centiseconds", "advert-interval-vrrp3", 16, 20],
  ["advert-interval-too-long", "advert-interval-vrrp3", 16, 20],
  ["vms-management-overlaps-cluster", "vms-management-subnet-apart", 52, 22],
];

const VALID = ["valid-5-servers", "valid-block-style"];

/** Schema keys that annotate, reference or nest, as opposed to asserting something a value can fail. */
const NOT_ASSERTIONS = new Set(["$schema", "$comment", "$defs", "$ref", "title", "description", "properties", "items"]);

/** Every assertion keyword configs/topology.schema.json uses; each can fail as rule "schema/<keyword>". */
function schemaKeywords(node: unknown, found = new Set<string>()): Set<string> {
  if (typeof node !== "object" || node === null) return found;
  for (const [key, value] of Object.entries(node)) {
    if (key === "properties" || key === "$defs") for (const child of Object.values(value as object)) schemaKeywords(child, found);
    else if (key === "items") schemaKeywords(value, found);
    else if (!NOT_ASSERTIONS.has(key)) found.add(key);
  }
  return found;
}

/** Every rule id the validator can report: YAML syntax, each schema keyword, each semantic rule. */
const RULE_IDS = new Set(["yaml-syntax", ...[...schemaKeywords(schema)].map((k) => `schema/${k}`), ...RULES.map((r) => r.id)]);

function errorsOf(result: LoadResult) {
  if (result.ok) throw new Error("expected the topology to be invalid");
  return result.errors;
}

describe("fixtures", () => {
  it.each(BROKEN)("%s.yml -> [%s] at %i:%i", async (name, rule, line, column, count = 1) => {
    const file = join(FIXTURES, `${name}.yml`);
    const errors = errorsOf(await loadTopology(file));
    expect(errors[0]).toMatchObject({ file, rule, line, column });
    expect(errors).toHaveLength(count);
    for (const e of errors) {
      expect(e.message.length).toBeGreaterThan(0);
      expect(e.fix.length).toBeGreaterThan(0);
    }
  });

  it.each(VALID)("%s.yml is valid", async (name) => {
    expect(await loadTopology(join(FIXTURES, `${name}.yml`))).toMatchObject({ ok: true });
  });

  it("configs/topology.yml is valid", async () => {
    const result = await loadTopology(REAL);
    expect(result.ok).toBe(true);
    if (result.ok) expect(result.topology.consul.servers).toHaveLength(3);
  });

  it("every fixture is in a table and every rule has a fixture", async () => {
    const files = (await readdir(FIXTURES)).filter((f) => f.endsWith(".yml")).map((f) => f.slice(0, -4));
    expect(files.sort()).toEqual([...BROKEN.map(([name]) => name), ...VALID].sort());
    const covered = new Set(BROKEN.map(([, rule]) => rule));
    expect([...RULE_IDS].filter((id) => !covered.has(id))).toEqual([]);
    // And the other way round: a table entry naming a rule that does not exist is a typo.
    expect([...covered].filter((id) => !RULE_IDS.has(id))).toEqual([]);
  });
});

describe("messages", () => {
  it("name the values and say how to fix them", async () => {
    const [error] = errorsOf(await loadTopology(join(FIXTURES, "host-outside-subnet.yml")));
    expect(error?.message).toBe("address 10.77.1.32 of app-2 is outside subnet 10.77.0.0/24");
    expect(error?.fix).toBe("use an address in 10.77.0.0/24 or widen network.subnet");
  });

  it("take schema fixes from the schema's descriptions", async () => {
    const [error] = errorsOf(await loadTopology(join(FIXTURES, "bad-ip.yml")));
    expect(error?.message).toBe('consul.servers[1].address has the invalid value "10.77.0.312"');
    expect(error?.fix).toMatch(/^consul\.servers\[1\]\.address should be an IPv4 address/);
  });

  it("format as file:line:col and as JSON", () => {
    const result = validateTopologyText("cluster: {}\n", "t.yml");
    const [first] = errorsOf(result);
    expect(formatError(first!)).toMatch(/^t\.yml:1:1: error \[schema\/required\] the document is missing the key network\n {4}fix: add network: /);
    const json = JSON.parse(formatJson("t.yml", result)) as { file: string; valid: boolean; errors: unknown[] };
    expect(json).toMatchObject({ file: "t.yml", valid: false });
    expect(json.errors[0]).toEqual(first);
  });
});

describe("unreadable files", () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "topology-"));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("rejects a missing file with the OS reason", async () => {
    const missing = join(dir, "nope.yml");
    await expect(loadTopology(missing)).rejects.toThrow(UnreadableError);
    await expect(loadTopology(missing)).rejects.toThrow(`${missing}: cannot read: no such file or directory (ENOENT)`);
  });

  it("rejects a directory", async () => {
    await expect(loadTopology(dir)).rejects.toThrow(/illegal operation on a directory \(EISDIR\)/);
  });

  it("rejects a file too large to be a topology", async () => {
    const big = join(dir, "big.yml");
    await writeFile(big, "#".repeat(MAX_TOPOLOGY_BYTES + 1));
    await expect(loadTopology(big)).rejects.toThrow(/too large/);
  });
});

describe("robustness", () => {
  /** mulberry32: a tiny seeded PRNG, so every run tries the same inputs. */
  function prng(seed: number) {
    return () => {
      seed = (seed + 0x6d2b79f5) | 0;
      let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
      t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
      return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
    };
  }

  /**
   * Validates `text` and checks every error is one a person can act on: a
   * rule id the validator really has, and a file:line:column inside `text`
   * (a column may sit one past a line's end, where something is missing).
   * Returns the rule ids reported, so callers can check the input did reach
   * the checks it was meant to exercise.
   */
  function expectClean(text: string): string[] {
    const result = validateTopologyText(text, "fuzz.yml");
    if (result.ok) return [];
    expect(result.errors.length).toBeGreaterThan(0);
    const lines = text.split("\n");
    for (const e of result.errors) {
      const where = `${e.file}:${e.line}:${e.column} [${e.rule}] ${e.message}`;
      expect(RULE_IDS.has(e.rule), `${where}: unknown rule`).toBe(true);
      expect(e.file, where).toBe("fuzz.yml");
      expect(Number.isInteger(e.line) && e.line >= 1 && e.line <= lines.length, `${where}: no such line (${lines.length} lines)`).toBe(true);
      const width = lines[e.line - 1]?.length ?? 0;
      expect(Number.isInteger(e.column) && e.column >= 1 && e.column <= width + 1, `${where}: no such column (line is ${width} long)`).toBe(true);
      expect(e.message).not.toBe("");
      expect(e.fix).not.toBe("");
    }
    return result.errors.map((e) => e.rule);
  }

  it("survives a few hundred mutations of the real topology", async () => {
    const real = await readFile(REAL, "utf8");
    const random = prng(20240611);
    const pick = (n: number) => Math.floor(random() * n);
    const junk = () => String.fromCharCode(...Array.from({ length: 1 + pick(8) }, () => pick(random() < 0.8 ? 128 : 0x3000)));
    const mutations: ((text: string) => string)[] = [
      (t) => { const lines = t.split("\n"); lines.splice(pick(lines.length), 1); return lines.join("\n"); },
      (t) => { const lines = t.split("\n"); const i = pick(lines.length); lines.splice(i, 0, lines[i] ?? ""); return lines.join("\n"); },
      (t) => { const i = pick(t.length - 1); return t.slice(0, i) + t.charAt(i + 1) + t.charAt(i) + t.slice(i + 2); },
      (t) => { const i = pick(t.length); return t.slice(0, i) + junk() + t.slice(i + 1); },
      (t) => { const i = pick(t.length); return t.slice(0, i) + "{[:-,&*!|>'\"#%@`\t?".charAt(pick(19)) + t.slice(i); },
      (t) => t.slice(0, pick(t.length)),
      (t) => t.replace(/\d+/g, (d) => (random() < 0.1 ? String(Number(d) * 1e6 + pick(3)) : d)),
    ];
    const reported = new Set<string>();
    let invalid = 0;
    for (let i = 0; i < 400; i++) {
      let text = real;
      for (let n = 1 + pick(3); n > 0; n--) text = mutations[pick(mutations.length)]!(text);
      const rules = expectClean(text);
      if (rules.length > 0) invalid += 1;
      for (const rule of rules) reported.add(rule);
    }
    // The fuzz only means something if its inputs fail, and at every stage:
    // syntax, schema and the semantic rules (with this seed, 303 of 400 inputs fail).
    expect(invalid).toBeGreaterThan(200);
    expect(reported.has("yaml-syntax")).toBe(true);
    expect([...reported].some((r) => r.startsWith("schema/"))).toBe(true);
    expect(RULES.some((r) => reported.has(r.id))).toBe(true);
  });

  it("survives random text", () => {
    const random = prng(7);
    const reported = new Set<string>();
    for (let i = 0; i < 200; i++) {
      const length = Math.floor(random() * 300);
      const rules = expectClean(String.fromCharCode(...Array.from({ length }, () => Math.floor(random() * (random() < 0.5 ? 128 : 0xffff)))));
      for (const rule of rules) reported.add(rule);
    }
    // Random text mostly parses as a plain scalar; some of it must still reach the parser's errors.
    expect(reported.has("yaml-syntax")).toBe(true);
    expect(reported.has("schema/type")).toBe(true);
  });

  it.each([
    ["deep flow nesting", "[".repeat(50_000)],
    ["deep block nesting", Array.from({ length: 3000 }, (_, i) => `${" ".repeat(i)}k:`).join("\n")],
    ["huge numbers", "vip: { virtual_router_id: 1e400, advert_interval: -.inf }\ndeploy: { batch_size: 99999999999999999999999999 }\n"],
    ["a self-referencing alias", "cluster: &a [*a]\n"],
    ["a non-scalar key", "? [a, b]\n: 1\n"],
    ["custom tags", "cluster: !!binary aGVsbG8=\nnetwork: !foo x\n"],
    ["control characters", "\u0000\u0001\u001b: \u0007\n"],
    ["a byte order mark", "\uFEFFcluster: x\n"],
  ])("survives %s", (_, text) => {
    expectClean(text);
  });
});
