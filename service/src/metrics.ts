/**
 * A deliberately small Prometheus registry: the service exposes a handful of
 * series and this keeps it dependency-free and easy to read.
 */

type Labels = Record<string, string>;

/** Seconds; covers a fast in-memory answer up to a request held by a slow client. */
const BUCKETS = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

export interface Metrics {
  observeRequest(route: string, method: string, status: number, seconds: number): void;
  setGauge(name: GaugeName, value: number): void;
  increment(name: CounterName, labels?: Labels): void;
  /** The text exposition format, version 0.0.4. */
  render(): string;
}

export type GaugeName = "cabify_ready" | "cabify_draining" | "cabify_inflight_requests";
export type CounterName = "cabify_consul_reconciles_total";

const counterHelp: Record<CounterName, string> = {
  cabify_consul_reconciles_total: "Passes of the registration loop, by result: in_sync, mended (the agent's definition was corrected) or failed.",
};

const key = (labels: Labels) => JSON.stringify(labels);

function formatLabels(labels: Labels): string {
  const pairs = Object.entries(labels).map(([k, v]) => `${k}="${v.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n")}"`);
  return pairs.length > 0 ? `{${pairs.join(",")}}` : "";
}

/**
 * @example
 * const metrics = createMetrics({ version: "0.1.0", instance: "cabify-app-1-8080" });
 * metrics.observeRequest("/status", "GET", 200, 0.002);
 * metrics.render(); // "# HELP cabify_http_requests_total ..."
 */
export function createMetrics(build: { version: string; instance: string }): Metrics {
  const requests = new Map<string, { labels: Labels; count: number }>();
  const counters = new Map<CounterName, Map<string, { labels: Labels; count: number }>>();
  const durations = new Map<string, { labels: Labels; buckets: number[]; sum: number; count: number }>();
  const gauges = new Map<GaugeName, number>([
    ["cabify_ready", 0],
    ["cabify_draining", 0],
    ["cabify_inflight_requests", 0],
  ]);
  const gaugeHelp: Record<GaugeName, string> = {
    cabify_ready: "1 while the instance accepts traffic (readiness).",
    cabify_draining: "1 once a drain has started.",
    cabify_inflight_requests: "Requests being served right now.",
  };

  return {
    observeRequest(route, method, status, seconds) {
      const counterLabels = { route, method, status: String(status) };
      const counter = requests.get(key(counterLabels)) ?? { labels: counterLabels, count: 0 };
      counter.count += 1;
      requests.set(key(counterLabels), counter);

      const histLabels = { route };
      const hist = durations.get(key(histLabels)) ?? { labels: histLabels, buckets: BUCKETS.map(() => 0), sum: 0, count: 0 };
      BUCKETS.forEach((le, i) => {
        if (seconds <= le) hist.buckets[i] = (hist.buckets[i] ?? 0) + 1;
      });
      hist.sum += seconds;
      hist.count += 1;
      durations.set(key(histLabels), hist);
    },

    setGauge(name, value) {
      gauges.set(name, value);
    },

    increment(name, labels = {}) {
      const series = counters.get(name) ?? new Map<string, { labels: Labels; count: number }>();
      const one = series.get(key(labels)) ?? { labels, count: 0 };
      one.count += 1;
      series.set(key(labels), one);
      counters.set(name, series);
    },

    render() {
      const lines: string[] = [
        "# HELP cabify_build_info Build information; the value is always 1.",
        "# TYPE cabify_build_info gauge",
        `cabify_build_info${formatLabels(build)} 1`,
        "# HELP cabify_http_requests_total HTTP requests served, by route, method and status.",
        "# TYPE cabify_http_requests_total counter",
      ];
      for (const { labels, count } of requests.values()) lines.push(`cabify_http_requests_total${formatLabels(labels)} ${count}`);
      lines.push(
        "# HELP cabify_http_request_duration_seconds Time from request to response, by route.",
        "# TYPE cabify_http_request_duration_seconds histogram",
      );
      for (const { labels, buckets, sum, count } of durations.values()) {
        BUCKETS.forEach((le, i) => lines.push(`cabify_http_request_duration_seconds_bucket${formatLabels({ ...labels, le: String(le) })} ${buckets[i]}`));
        lines.push(`cabify_http_request_duration_seconds_bucket${formatLabels({ ...labels, le: "+Inf" })} ${count}`);
        lines.push(`cabify_http_request_duration_seconds_sum${formatLabels(labels)} ${sum}`);
        lines.push(`cabify_http_request_duration_seconds_count${formatLabels(labels)} ${count}`);
      }
      for (const [name, series] of counters) {
        lines.push(`# HELP ${name} ${counterHelp[name]}`, `# TYPE ${name} counter`);
        for (const { labels, count } of series.values()) lines.push(`${name}${formatLabels(labels)} ${count}`);
      }
      for (const [name, value] of gauges) {
        lines.push(`# HELP ${name} ${gaugeHelp[name]}`, `# TYPE ${name} gauge`, `${name} ${value}`);
      }
      return `${lines.join("\n")}\n`;
    },
  };
}
