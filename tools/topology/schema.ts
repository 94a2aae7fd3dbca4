/**
 * Checks parsed data against configs/topology.schema.json and turns ajv's
 * errors into findings a person can act on: the path as written in YAML,
 * the offending value, and a fix taken from the schema's descriptions.
 */
import { Ajv2020, type DefinedError } from "ajv/dist/2020.js";
import schema from "../../configs/topology.schema.json" with { type: "json" };
import { label } from "./locate.js";
import type { Finding, Path, Topology } from "./types.js";

// allErrors: report every problem in one run, not one per edit-and-retry.
// verbose: gives each error its failing value and schema, for the messages.
const validate = new Ajv2020({ allErrors: true, verbose: true }).compile<Topology>(schema);

/**
 * @example
 * const result = checkSchema({ cluster: {} });
 * if (!result.ok) console.log(result.findings[0]?.rule); // "schema/additionalProperties" or "schema/required"
 */
export function checkSchema(data: unknown): { ok: true; topology: Topology } | { ok: false; findings: Finding[] } {
  if (validate(data)) return { ok: true, topology: data };
  // ajv documents this cast: its errors are always of the built-in keywords.
  const errors = (validate.errors ?? []) as DefinedError[];
  return { ok: false, findings: errors.map((e) => toFinding(e, data)) };
}

function toFinding(error: DefinedError, data: unknown): Finding {
  const path = toPath(error.instancePath, data);
  const where = label(path);
  const rule = `schema/${error.keyword}`;
  const expected = `${where} should be ${describe(error.parentSchema)}`;
  switch (error.keyword) {
    case "required": {
      const key = error.params.missingProperty;
      return {
        rule, path, at: "key",
        message: `${where} is missing the key ${key}`,
        fix: `add ${key}: ${describe(propertiesOf(error.parentSchema)[key])}`,
      };
    }
    case "additionalProperties": {
      const key = error.params.additionalProperty;
      return {
        rule, path: [...path, key], at: "key",
        message: `${where} has an unknown key ${show(key)}`,
        fix: `remove it or correct its spelling; ${where} takes ${Object.keys(propertiesOf(error.parentSchema)).join(", ")}`,
      };
    }
    case "type":
      return { rule, path, message: `${where} must be ${TYPE_NOUNS[String(error.params.type)] ?? error.params.type}, not ${show(error.data)}`, fix: expected };
    case "pattern":
      return { rule, path, message: `${where} has the invalid value ${show(error.data)}`, fix: expected };
    case "minimum":
    case "exclusiveMinimum":
      return { rule, path, message: `${where} is ${show(error.data)}, below the minimum ${error.params.limit}`, fix: expected };
    case "maximum":
    case "exclusiveMaximum":
      return { rule, path, message: `${where} is ${show(error.data)}, above the maximum ${error.params.limit}`, fix: expected };
    case "minItems":
    case "maxItems": {
      const count = Array.isArray(error.data) ? error.data.length : 0;
      const bound = error.keyword === "minItems" ? "at least" : "at most";
      return { rule, path, at: "key", message: `${where} has ${count} items; it needs ${bound} ${error.params.limit}`, fix: expected };
    }
    default:
      return { rule, path, message: `${where} ${error.message ?? "is invalid"}`, fix: expected };
  }
}

const TYPE_NOUNS: Record<string, string> = {
  object: "a map",
  array: "a list",
  string: "a string",
  integer: "an integer",
  number: "a number",
  boolean: "true or false",
};

/**
 * A JSON pointer as a path, with list indexes as numbers. The data tells
 * which segments index a list: a key "0" in a map stays a string.
 */
function toPath(pointer: string, data: unknown): Path {
  const path: (string | number)[] = [];
  let node = data;
  for (const raw of pointer.split("/").slice(1)) {
    const segment = raw.replaceAll("~1", "/").replaceAll("~0", "~");
    const step = Array.isArray(node) ? Number(segment) : segment;
    path.push(step);
    node = isRecord(node) ? node[step] : undefined;
  }
  return path;
}

/** A value as messages quote it; collections are described, never dumped (they may be huge or cyclic). */
function show(value: unknown): string {
  if (value === null || value === undefined) return "empty";
  if (typeof value === "string") return JSON.stringify(value.length > 60 ? `${value.slice(0, 57)}...` : value);
  if (typeof value === "number" || typeof value === "boolean") return String(value);
  return Array.isArray(value) ? "a list" : "a map";
}

/** The description of a schema, following a $ref to $defs when the site has none. */
function describe(node: unknown): string {
  if (!isRecord(node)) return "as described in configs/topology.schema.json";
  if (typeof node.description === "string") return node.description;
  const ref = typeof node.$ref === "string" ? node.$ref.replace("#/$defs/", "") : undefined;
  return describe(ref === undefined ? undefined : (schema.$defs as Record<string, unknown>)[ref]);
}

function propertiesOf(node: unknown): Record<string, unknown> {
  return isRecord(node) && isRecord(node.properties) ? node.properties : {};
}

function isRecord(value: unknown): value is Record<string | number, unknown> {
  return typeof value === "object" && value !== null;
}
