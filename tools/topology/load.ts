/**
 * Reads and validates a topology: YAML syntax first, then the JSON Schema,
 * then the semantic rules. Each stage runs only if the previous one passed,
 * so a rule never sees half-typed data and a user never sees the same
 * mistake reported three ways.
 */
import { open } from "node:fs/promises";
import { getSystemErrorMap } from "node:util";
import { LineCounter, parseDocument, type Document, type YAMLError } from "yaml";
import { MAX_TOPOLOGY_BYTES } from "./constants.js";
import { locate } from "./locate.js";
import { checkRules } from "./rules.js";
import { checkSchema } from "./schema.js";
import type { Finding, LoadResult, TopologyError } from "./types.js";

/**
 * The file could not be read at all (missing, a directory, no permission,
 * too large): distinct from an invalid topology so the CLI can exit 2.
 */
export class UnreadableError extends Error {
  constructor(
    readonly file: string,
    readonly reason: string,
  ) {
    super(`${file}: cannot read: ${reason}`);
    this.name = "UnreadableError";
  }
}

/** Later YAML errors are mostly echoes of the first; a few are plenty. */
const MAX_SYNTAX_ERRORS = 5;

/**
 * Reads and validates a topology file.
 * @throws {UnreadableError} if the file cannot be read.
 * @example
 * const result = await loadTopology("configs/topology.yml");
 * if (result.ok) console.log(result.topology.vip.address);
 * else for (const e of result.errors) console.error(`${e.file}:${e.line}:${e.column} ${e.rule}`);
 */
export async function loadTopology(file: string): Promise<LoadResult> {
  const bytes = await readCapped(file);
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    // Point at the first undecodable byte: decode leniently, find the replacement character.
    const lenient = new TextDecoder("utf-8").decode(bytes);
    const before = lenient.slice(0, Math.max(lenient.indexOf("\uFFFD"), 0));
    return fail([{
      file, line: before.split("\n").length, column: before.length - before.lastIndexOf("\n"), rule: "yaml-syntax",
      message: "the file is not UTF-8 text",
      fix: "save the file as UTF-8; a topology is plain text",
    }]);
  }
  return validateTopologyText(text, file);
}

/**
 * Validates topology source text; `file` is only used to label errors.
 * Never throws: every input yields a topology or errors with 1-based positions.
 * @example
 * const result = validateTopologyText("cluster: {}\n", "inline.yml");
 * // result.ok === false; result.errors[0].rule === "schema/required"
 */
export function validateTopologyText(text: string, file: string): LoadResult {
  const counter = new LineCounter();
  const parsed = parseYaml(text, counter);
  if (!parsed.ok) {
    return fail(parsed.errors.map(({ offset, message, fix }) => {
      const { line, col } = counter.linePos(offset);
      return { file, line: Math.max(line, 1), column: Math.max(col, 1), rule: "yaml-syntax", message, fix };
    }));
  }

  const schema = checkSchema(parsed.data);
  const findings = schema.ok ? checkRules(schema.topology) : schema.findings;
  if (schema.ok && findings.length === 0) return { ok: true, topology: schema.topology };

  const errors = findings.map(({ path, at, ...rest }: Finding): TopologyError =>
    ({ file, ...locate(parsed.doc, counter, path, at), ...rest }));
  return fail(errors);
}

type SyntaxProblem = { offset: number; message: string; fix: string };

function parseYaml(text: string, counter: LineCounter):
  | { ok: true; doc: Document; data: unknown }
  | { ok: false; errors: SyntaxProblem[] } {
  try {
    // prettyErrors: false because positions come from `counter`, and its
    // context snippets build regexes that exhaust memory on huge lines.
    const doc = parseDocument(text, { lineCounter: counter, prettyErrors: false, uniqueKeys: true, logLevel: "error" });
    if (doc.errors.length > 0) {
      const first = doc.errors.sort((a, b) => a.pos[0] - b.pos[0]).slice(0, MAX_SYNTAX_ERRORS);
      return { ok: false, errors: first.map((e) => describeYamlError(e, text)) };
    }
    // maxAliasCount bounds alias expansion ("billion laughs"); exceeding it throws.
    return { ok: true, doc, data: doc.toJS({ maxAliasCount: 100 }) };
  } catch (error) {
    return {
      ok: false,
      errors: [{
        offset: 0,
        message: `the YAML cannot be loaded: ${error instanceof Error ? error.message : String(error)}`,
        fix: "simplify the document: a topology needs no aliases or deep nesting",
      }],
    };
  }
}

/** Errors in file order, as a reader fixes them. */
function fail(errors: TopologyError[]): LoadResult {
  return { ok: false, errors: errors.sort((a, b) => a.line - b.line || a.column - b.column) };
}

/** Plainer words than yaml's for the errors people actually make (its own text is kept otherwise). */
const YAML_HINTS: Record<string, { message?: string; fix: string }> = {
  DUPLICATE_KEY: { fix: "remove or rename one of the two entries" },
  TAB_AS_INDENT: { fix: "indent with spaces; YAML forbids tabs for indentation" },
  MULTIPLE_DOCS: { message: "the file holds more than one YAML document", fix: "keep a single document: remove the --- line and what follows it" },
  RESOURCE_EXHAUSTION: { message: "the YAML is nested too deeply to parse", fix: "reduce the nesting; a topology is at most four levels deep" },
};

function describeYamlError(error: YAMLError, text: string): SyntaxProblem {
  const offset = error.pos[0];
  const hint = YAML_HINTS[error.code];
  const fix = hint?.fix ?? "fix the YAML syntax here (a missing ':', an unclosed bracket or quote, or uneven indentation)";
  if (error.code === "DUPLICATE_KEY") {
    // yaml's message does not name the key; its text runs from here up to the ':'.
    const key = /^[^:\n]*/.exec(text.slice(offset, offset + 100))?.[0].trim();
    return { offset, message: `duplicate key ${key}`, fix };
  }
  return { offset, message: hint?.message ?? error.message, fix };
}

/**
 * Reads at most MAX_TOPOLOGY_BYTES (+1, to notice a bigger file). Reading in
 * a loop with a cap, rather than readFile, keeps /dev/zero or a FIFO from
 * hanging or exhausting memory.
 */
async function readCapped(file: string): Promise<Uint8Array> {
  let handle;
  try {
    handle = await open(file, "r");
    const buffer = new Uint8Array(MAX_TOPOLOGY_BYTES + 1);
    let length = 0;
    for (;;) {
      const { bytesRead } = await handle.read(buffer, length, buffer.length - length, null);
      length += bytesRead;
      if (bytesRead === 0 || length === buffer.length) break;
    }
    if (length > MAX_TOPOLOGY_BYTES) {
      throw new UnreadableError(file, `larger than ${MAX_TOPOLOGY_BYTES / 1024} KiB, too large for a topology`);
    }
    return buffer.subarray(0, length);
  } catch (error) {
    if (error instanceof UnreadableError) throw error;
    throw new UnreadableError(file, osReason(error));
  } finally {
    await handle?.close();
  }
}

/** "no such file or directory (ENOENT)" rather than Node's message, which repeats the path. */
function osReason(error: unknown): string {
  if (error instanceof Error && "errno" in error && typeof error.errno === "number") {
    const [code, text] = getSystemErrorMap().get(error.errno) ?? [];
    if (code && text) return `${text} (${code})`;
  }
  return error instanceof Error ? error.message : String(error);
}
