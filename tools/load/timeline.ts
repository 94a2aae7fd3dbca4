import { percentile, type RequestRecord } from "./load.js";

/** Something that happened during the load, drawn as a vertical mark: a kill, the VIP moving, a host back. */
export interface TimelineEvent {
  /** Milliseconds since the load started, like RequestRecord.startMs. */
  atMs: number;
  label: string;
}

const BUCKET_MS = 100;
const WIDTH = 1100;
const LEFT = 70;
const RIGHT = 20;
// Never the green and red of ok and failed, so a band cannot be read as either.
// Sixteen, so that a blue/green deploy (6 instances, 2 LBs, 2 versions) repeats none.
const PALETTE = ["#4e79a7", "#f28e2b", "#b07aa1", "#76b7b2", "#edc948", "#9c755f", "#ff9da7", "#bab0ac", "#79706e", "#499894", "#b6992d", "#a0cbe8", "#ffbe7d", "#d4a6c8", "#86bcb6", "#f1ce63"];

interface Bucket {
  ok: number;
  failed: number;
  p99: number;
  instances: Map<string, number>;
  lbs: Map<string, number>;
  versions: Map<string, number>;
}

const tally = (counts: Map<string, number>, name: string | undefined) => {
  if (name) counts.set(name, (counts.get(name) ?? 0) + 1);
};

function bucketize(records: RequestRecord[]): Bucket[] {
  const last = Math.max(0, ...records.map((r) => r.startMs));
  const buckets: Bucket[] = Array.from({ length: Math.floor(last / BUCKET_MS) + 1 }, () => ({ ok: 0, failed: 0, p99: 0, instances: new Map(), lbs: new Map(), versions: new Map() }));
  const latencies: number[][] = buckets.map(() => []);
  for (const r of records) {
    const i = Math.floor(r.startMs / BUCKET_MS);
    const b = buckets[i]!;
    if (r.outcome === "ok") b.ok += 1;
    else b.failed += 1;
    latencies[i]!.push(r.latencyMs);
    tally(b.instances, r.instance);
    tally(b.lbs, r.lb);
    tally(b.versions, r.version);
  }
  buckets.forEach((b, i) => {
    b.p99 = percentile(latencies[i]!.sort((x, y) => x - y), 0.99);
  });
  return buckets;
}

const esc = (text: string) => text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
const fixed = (n: number) => Number(n.toFixed(1));

/**
 * A self-contained SVG of a recorded load, per 100 ms: successes and failures
 * (stacked bars), p99 latency (a line), which instance, which LB and which
 * version answered (coloured bands, one colour per name: the share of each
 * over time), and the events as vertical marks.
 * Readable in any browser; no scripts, no external fonts.
 *
 * @example
 * writeFileSync("lb-kill.svg", renderTimeline(records, [{ atMs: 3000, label: "kill lb-1" }], "lb-kill"));
 */
export function renderTimeline(records: RequestRecord[], events: TimelineEvent[], title: string): string {
  const buckets = bucketize(records);
  const plotWidth = WIDTH - LEFT - RIGHT;
  const barWidth = plotWidth / buckets.length;
  const x = (ms: number) => fixed(LEFT + (ms / (buckets.length * BUCKET_MS)) * plotWidth);
  const colour = new Map<string, string>();
  const colourOf = (name: string) => {
    if (!colour.has(name)) colour.set(name, PALETTE[colour.size % PALETTE.length]!);
    return colour.get(name)!;
  };

  // Panels, top to bottom: [y, height].
  const requests = { y: 40, h: 160 };
  const latency = { y: 230, h: 120 };
  const instanceBand = { y: 380, h: 24 };
  const lbBand = { y: 430, h: 24 };
  const versionBand = { y: 480, h: 24 };
  const height = 590;

  const out: string[] = [];
  const maxCount = Math.max(1, ...buckets.map((b) => b.ok + b.failed));
  const maxP99 = Math.max(1, ...buckets.map((b) => b.p99));
  buckets.forEach((b, i) => {
    const left = fixed(LEFT + i * barWidth);
    const w = fixed(Math.max(barWidth - 0.5, 0.5));
    const okH = (b.ok / maxCount) * requests.h;
    const failH = (b.failed / maxCount) * requests.h;
    if (b.ok) out.push(`<rect x="${left}" y="${fixed(requests.y + requests.h - okH)}" width="${w}" height="${fixed(okH)}" fill="#59a14f"/>`);
    if (b.failed) out.push(`<rect x="${left}" y="${fixed(requests.y + requests.h - okH - failH)}" width="${w}" height="${fixed(failH)}" fill="#e15759"/>`);
    for (const [map, band] of [[b.instances, instanceBand], [b.lbs, lbBand], [b.versions, versionBand]] as const) {
      const total = [...map.values()].reduce((sum, n) => sum + n, 0);
      let offset = 0;
      for (const [name, n] of [...map].sort(([a], [c]) => a.localeCompare(c))) {
        const h = (n / total) * band.h;
        out.push(`<rect x="${left}" y="${fixed(band.y + offset)}" width="${w}" height="${fixed(h)}" fill="${colourOf(name)}"><title>${esc(name)}: ${n}</title></rect>`);
        offset += h;
      }
    }
  });
  const points = buckets.map((b, i) => `${fixed(LEFT + (i + 0.5) * barWidth)},${fixed(latency.y + latency.h - (b.p99 / maxP99) * latency.h)}`);
  out.push(`<polyline points="${points.join(" ")}" fill="none" stroke="#4e79a7" stroke-width="1.5"/>`);

  // Axes and labels.
  const seconds = (buckets.length * BUCKET_MS) / 1000;
  const step = seconds > 60 ? 10 : seconds > 20 ? 5 : 1;
  for (let s = 0; s <= seconds; s += step) {
    out.push(`<line x1="${x(s * 1000)}" y1="${requests.y}" x2="${x(s * 1000)}" y2="${versionBand.y + versionBand.h}" stroke="#eee"/>`);
    out.push(`<text x="${x(s * 1000)}" y="${versionBand.y + versionBand.h + 18}" text-anchor="middle">${s} s</text>`);
  }
  out.push(
    `<text x="${LEFT}" y="${requests.y - 8}">requests per 100 ms: ok (green), failed (red); peak ${maxCount}</text>`,
    `<text x="${LEFT}" y="${latency.y - 8}">p99 latency per 100 ms; peak ${fixed(maxP99)} ms</text>`,
    `<text x="${LEFT - 6}" y="${instanceBand.y + 16}" text-anchor="end">instance</text>`,
    `<text x="${LEFT - 6}" y="${lbBand.y + 16}" text-anchor="end">LB</text>`,
    `<text x="${LEFT - 6}" y="${versionBand.y + 16}" text-anchor="end">version</text>`,
  );
  // Labels step down in three rows, so events close in time stay readable.
  events.forEach((event, i) => {
    const at = x(event.atMs);
    out.push(`<line x1="${at}" y1="${requests.y}" x2="${at}" y2="${versionBand.y + versionBand.h}" stroke="#333" stroke-dasharray="4 3"/>`);
    out.push(`<text x="${fixed(at + 3)}" y="${requests.y + 12 + (i % 3) * 14}" class="event">${esc(event.label)}</text>`);
  });
  // Five names a row, under the time axis.
  const legend = [...colour].map(([name, fill], i) => {
    const lx = LEFT + (i % 5) * 200;
    const ly = height - 52 + Math.floor(i / 5) * 16;
    return `<rect x="${lx}" y="${ly}" width="12" height="12" fill="${fill}"/><text x="${lx + 16}" y="${ly + 10}">${esc(name)}</text>`;
  });

  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}" font-family="sans-serif" font-size="12">`,
    `<style>.event { font-size: 11px; fill: #111; paint-order: stroke; stroke: white; stroke-width: 3px; }</style>`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="${LEFT}" y="20" font-size="15" font-weight="bold">${esc(title)}</text>`,
    ...out,
    ...legend,
    `</svg>`,
    "",
  ].join("\n");
}
