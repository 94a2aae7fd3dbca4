/**
 * Maps a path in the parsed data back to a line and column in the YAML
 * source, so every finding (schema or rule) is reported where it is.
 */
import { isAlias, isMap, isNode, isScalar, isSeq, type Document, type LineCounter } from "yaml";
import type { Path } from "./types.js";

interface Position {
  line: number;
  column: number;
}

/**
 * A path as a reader would write it.
 * @example label(["consul", "servers", 1, "address"]) // "consul.servers[1].address"
 */
export function label(path: Path): string {
  if (path.length === 0) return "the document";
  return path.map((s, i) => (typeof s === "number" ? `[${s}]` : i === 0 ? s : `.${s}`)).join("");
}

/**
 * The 1-based position of the node at `path`. With `at: "key"` it is the key
 * owning the node (a list item is its own key); with "value", the value, or
 * its key when the value has no source text (`address:` with nothing after).
 * A path that runs past the document (it cannot, after a successful parse,
 * but a wrong answer beats a crash) stops at the deepest node found.
 */
export function locate(doc: Document, counter: LineCounter, path: Path, at: "key" | "value" = "value"): Position {
  let key: unknown;
  let value: unknown = doc.contents;
  for (const segment of path) {
    // An alias's data is its anchor's: report the anchored node.
    const node = isAlias(value) ? value.resolve(doc) : value;
    const next = child(node, segment);
    if (!next) break;
    [key, value] = next;
  }
  const order = at === "key" ? [key, value] : [value, key];
  const offset = order.map(startOf).find((o) => o !== undefined) ?? 0;
  const { line, col } = counter.linePos(offset);
  return { line: Math.max(line, 1), column: Math.max(col, 1) };
}

function child(node: unknown, segment: string | number): [key: unknown, value: unknown] | undefined {
  if (isMap(node)) {
    const pair = node.items.find((p) => String(isScalar(p.key) ? p.key.value : p.key) === String(segment));
    return pair && [pair.key, pair.value];
  }
  if (isSeq(node) && typeof segment === "number" && segment < node.items.length) {
    return [node.items[segment], node.items[segment]];
  }
  return undefined;
}

/** Start offset of a node that has source text; empty ranges (implicit nulls) have none. */
function startOf(node: unknown): number | undefined {
  if (!isNode(node) || !node.range || node.range[0] === node.range[1]) return undefined;
  return node.range[0];
}
