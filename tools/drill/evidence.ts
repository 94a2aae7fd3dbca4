import type { RequestRecord } from "../load/load.js";
import type { DrillLab } from "./lab.js";

/** Failed requests listed one by one, at most. */
const MAX_FAILED_LISTED = 10;
/** Log lines kept per LB and source: the first ones after the fault matter most. */
const MAX_LINES = 25;

/**
 * Why a drill failed, from what was there while it ran: the failed requests
 * (when, through which LB, how) and what each LB logged since the drill
 * started — HAProxy (it logs only requests that went wrong and server state
 * changes), keepalived's state changes and the sync's updates. A rare
 * failure in CI is explained by these lines or not at all: the lab is gone
 * afterwards.
 *
 * @example
 * await failureEvidence(lab, Date.now() - 40_000, records) // ["failed +12.31 s via lb-1: http_503 (3 ms)", "lb-1 haproxy | ...", ...]
 */
export async function failureEvidence(lab: DrillLab, sinceEpochMs: number, records: RequestRecord[]): Promise<string[]> {
  const failed = records.filter((r) => r.outcome !== "ok");
  const lines = failed
    .slice(0, MAX_FAILED_LISTED)
    .map((r) => `failed +${(r.startMs / 1000).toFixed(2)} s via ${r.lb ?? "?"}: ${r.outcome} (${r.latencyMs.toFixed(0)} ms)`);
  if (failed.length > MAX_FAILED_LISTED) lines.push(`... and ${failed.length - MAX_FAILED_LISTED} more failed`);
  const since = `@${Math.floor(sinceEpochMs / 1000)}`;
  const sources = [
    // HAProxy prints each warning twice (with and without its "[WARNING] (pid) :" prefix).
    { what: "haproxy", command: `journalctl -t haproxy -o short-precise --no-pager --since ${since} | grep -v ': \\[\\(WARNING\\|NOTICE\\|ALERT\\)\\]'` },
    { what: "keepalived", command: `journalctl -u keepalived -o short-precise --no-pager --since ${since} | grep -E 'Entering|priority 0|unfit'` },
    { what: "sync", command: `journalctl -u haproxy-consul-sync -o cat --no-pager --since ${since} | grep -v '"level":"debug"'` },
  ];
  for (const lb of lab.lbs) {
    for (const { what, command } of sources) {
      const text = await lab.exec(lb, `${command} || true`).catch((err: unknown) => `(could not read: ${err instanceof Error ? err.message : String(err)})`);
      const found = text.split("\n").filter((l) => l.trim() !== "" && !l.startsWith("-- ")).map(compactJson);
      lines.push(...found.slice(0, MAX_LINES).map((l) => `${lb.name} ${what} | ${l}`));
      if (found.length > MAX_LINES) lines.push(`${lb.name} ${what} | ... ${found.length - MAX_LINES} more lines`);
    }
  }
  return lines;
}

/** A JSON log line (the sync's) as "HH:MM:SS.mmm level msg key=value...", the rest of the lines unchanged. */
function compactJson(line: string): string {
  if (!line.startsWith("{")) return line;
  try {
    const { time, level, msg, ...rest } = JSON.parse(line) as Record<string, unknown>;
    const fields = Object.entries(rest)
      .filter(([k]) => k !== "component" && k !== "service")
      .map(([k, v]) => `${k}=${typeof v === "string" ? v : JSON.stringify(v)}`);
    return [String(time).slice(11, 23), level, msg, ...fields].join(" ");
  } catch {
    return line;
  }
}
