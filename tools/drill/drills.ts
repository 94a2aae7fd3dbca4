import { setTimeout as sleep } from "node:timers/promises";
import type { LoadSummary, RequestRecord } from "../load/load.js";
import { docker } from "../lab/docker.js";
import type { LabHost } from "../lab/hosts.js";
import { PARTITION_RULES, type DrillLab } from "./lab.js";

/** What a drill's steps can use while the load runs. */
export interface DrillContext {
  lab: DrillLab;
  /** Records an event on the timeline; returns its time in ms since the load started. */
  mark(label: string): number;
  /** Polls `probe` every 50 ms; resolves with the time it first held (ms since the load started), rejects after `timeoutMs`. */
  until(what: string, probe: () => Promise<boolean>, timeoutMs: number): Promise<number>;
}

/** Measured facts of one run: times in ms, counts. `recoveryMs` is the one the report's table shows. */
export type Facts = Record<string, number> & { recoveryMs?: number };

export interface Check {
  what: string;
  ok: boolean;
  measured: string;
}

export interface Drill {
  name: string;
  /** The fault, in words, for the report. */
  fault: string;
  /** The expectation, in words, for the report. */
  expected: string;
  /** How long the counted load runs; the fault comes 3 s in. */
  seconds: number;
  /** Puts the lab in the drill's starting state before the load (not counted). */
  prepare?(lab: DrillLab): Promise<void>;
  run(ctx: DrillContext): Promise<Facts>;
  checks(summary: LoadSummary, facts: Facts, records: RequestRecord[]): Check[];
}

const s = (ms: number | undefined) => (ms === undefined ? "never" : `${(ms / 1000).toFixed(2)} s`);
const noFailures = (summary: LoadSummary): Check => ({ what: "0 failed requests", ok: summary.failed === 0, measured: `${summary.failed} of ${summary.sent} failed ${JSON.stringify(summary.failures)}` });
const atMost = (what: string, ms: number | undefined, bound: number): Check => ({ what: `${what} ≤ ${s(bound)}`, ok: ms !== undefined && ms <= bound, measured: s(ms) });

const bothLbs = (lab: DrillLab, app: LabHost, test: (status: string | undefined) => boolean) => async () => {
  const statuses = await Promise.all(lab.lbs.map((lb) => lab.backendStatus(lb, app)));
  return statuses.every(test);
};
const up = (status: string | undefined) => status === "UP";
const out = (status: string | undefined) => status !== undefined && status !== "UP";

/** Probe: the Consul servers agree on a Raft leader. */
const hasLeader = (lab: DrillLab) => async () => (await lab.consulLeader()) !== undefined;

/** Probe: another LB holds the VIP than `lb`, which held it. */
const vipLeft = (lab: DrillLab, lb: LabHost) => async () => (await lab.vipHolders()).some((h) => h !== lb.name);

const gapAtMostHalfSecond = (summary: LoadSummary): Check => ({ what: "longest gap ≤ 0.50 s", ok: summary.longestGapMs <= 500, measured: s(summary.longestGapMs) });
const reported = (what: string, summary: LoadSummary): Check => ({ what: `failures (reported: ${what})`, ok: true, measured: `${summary.failed} of ${summary.sent}` });

async function holder(lab: DrillLab): Promise<LabHost> {
  const holders = await lab.vipHolders();
  if (holders.length !== 1) throw new Error(`expected one VIP holder, found ${holders.length}`);
  return lab.host(holders[0]!);
}

/**
 * ms from `from` (a mark's time, taken before the fault's command ran) until
 * `probe` holds, or undefined if it did not within `timeoutMs`: a
 * measurement, which the checks judge, not a failure of the drill.
 */
async function measure(ctx: DrillContext, from: number, what: string, probe: () => Promise<boolean>, timeoutMs: number): Promise<number | undefined> {
  return ctx.until(what, probe, timeoutMs).then((at) => at - from, () => undefined);
}

/** The operator's CLI in the service's container on an app host. */
const agentOn = (lab: DrillLab, app: LabHost, args: string) => lab.exec(app, `docker exec cabify node dist/service/src/agent/cli.js ${args}`);

const facts = (entries: Record<string, number | undefined>): Facts => Object.fromEntries(Object.entries(entries).filter(([, v]) => v !== undefined)) as Facts;

/** `systemctl stop UNIT` on the VIP holder: a planned stop, which must hand the VIP over and fail nothing. */
function stopOnTheHolder(unit: "haproxy" | "keepalived", why: string): Drill {
  return {
    name: `${unit}-stop`,
    fault: `systemctl stop ${unit} on the VIP holder`,
    expected: `0 failed: ${why}`,
    seconds: 20,
    async run(ctx) {
      const lb = await holder(ctx.lab);
      const stopped = ctx.mark(`stop ${unit} on ${lb.name}`);
      const stopping = ctx.lab.exec(lb, `systemctl stop ${unit}`);
      const movedMs = await measure(ctx, stopped, "the VIP on the other LB", vipLeft(ctx.lab, lb), 10_000);
      ctx.mark("VIP moved");
      await stopping;
      return facts({ recoveryMs: movedMs, movedMs });
    },
    checks: (summary, f) => [noFailures(summary), atMost("VIP on the other LB", f.movedMs, 5000)],
  };
}

export const DRILLS: Drill[] = [
  {
    name: "app-kill",
    fault: "hard kill (docker kill) of one app host",
    expected: "0 failed (retries + redispatch); DOWN on both LBs ≤ 1.5 s; p99 ≤ 200 ms",
    seconds: 20,
    async run(ctx) {
      const app = ctx.lab.apps[0]!;
      const killed = ctx.mark(`kill ${app.name}`);
      await docker(["kill", app.container]);
      const downMs = await measure(ctx, killed, `${app.name} out of both LBs`, bothLbs(ctx.lab, app, out), 10_000);
      ctx.mark(`${app.name} out of both LBs`);
      return facts({ recoveryMs: downMs, downMs });
    },
    checks: (summary, f) => [noFailures(summary), atMost("out of both LBs", f.downMs, 1500), { what: "p99 ≤ 200 ms", ok: summary.p99Ms <= 200, measured: `${summary.p99Ms.toFixed(1)} ms` }],
  },
  {
    name: "app-restart",
    fault: "hard kill of one app host, then start it again",
    expected: "0 failed; back UP on both LBs ≤ 15 s",
    seconds: 30,
    async run(ctx) {
      const app = ctx.lab.apps[1]!;
      ctx.mark(`kill ${app.name}`);
      await docker(["kill", app.container]);
      await ctx.until(`${app.name} out of both LBs`, bothLbs(ctx.lab, app, out), 10_000);
      const started = ctx.mark(`start ${app.name}`);
      await docker(["start", app.container]);
      const upMs = await measure(ctx, started, `${app.name} UP on both LBs`, bothLbs(ctx.lab, app, up), 30_000);
      ctx.mark(`${app.name} UP on both LBs`);
      return facts({ recoveryMs: upMs, upMs });
    },
    checks: (summary, f) => [noFailures(summary), atMost("UP on both LBs after the start", f.upMs, 15_000)],
  },
  {
    name: "app-partition",
    fault: "one app host cut off the network for 5 s (iptables DROP on its lab interface: no RST)",
    expected: "0 failed; back UP on both LBs after the cut ends",
    seconds: 35,
    async run(ctx) {
      const app = ctx.lab.apps[2]!;
      const cut = ctx.mark(`cut ${app.name} off`);
      await ctx.lab.exec(app, PARTITION_RULES.map((r) => `iptables -I ${r}`).join(" && "));
      const downMs = await measure(ctx, cut, `${app.name} out of both LBs`, bothLbs(ctx.lab, app, out), 10_000);
      await sleep(5000); // the partition's length: part of the fault, not a wait for a condition
      const reconnected = ctx.mark(`reconnect ${app.name}`);
      await ctx.lab.exec(app, PARTITION_RULES.map((r) => `iptables -D ${r}`).join(" && "));
      const upMs = await measure(ctx, reconnected, `${app.name} UP on both LBs`, bothLbs(ctx.lab, app, up), 30_000);
      ctx.mark(`${app.name} UP on both LBs`);
      return facts({ recoveryMs: upMs, downMs, upMs });
    },
    checks: (summary, f) => [noFailures(summary), atMost("UP on both LBs after the cut ends", f.upMs, 30_000)],
  },
  {
    name: "consul-leader-kill",
    fault: "hard kill of the Raft leader's host",
    expected: "new leader ≤ 5 s; 0 failed at the VIP",
    seconds: 20,
    async run(ctx) {
      const leader = await ctx.lab.consulLeader();
      if (!leader) throw new Error("no Raft leader to kill");
      const killed = ctx.mark(`kill ${leader}`);
      await docker(["kill", ctx.lab.host(leader).container]);
      const electedMs = await measure(ctx, killed, "a new leader", async () => ((await ctx.lab.consulLeader()) ?? leader) !== leader, 15_000);
      ctx.mark("new leader");
      return facts({ recoveryMs: electedMs, electedMs });
    },
    checks: (summary, f) => [noFailures(summary), atMost("new leader", f.electedMs, 5000)],
  },
  {
    name: "consul-quorum-loss",
    fault: "2 of 3 Consul servers down (docker kill) for 30 s, then back",
    expected: "the VIP keeps serving from the last known backends, 0 failed; quorum back and the sync follows Consul again",
    seconds: 50,
    async run(ctx) {
      const [, ...two] = ctx.lab.servers;
      ctx.mark(`kill ${two.map((h) => h.name).join(" + ")}`);
      await Promise.all(two.map((h) => docker(["kill", h.container])));
      await sleep(30_000); // the outage's length: part of the fault
      const restarted = ctx.mark("start them again");
      await Promise.all(two.map((h) => docker(["start", h.container])));
      const quorumMs = await measure(ctx, restarted, "a Raft leader again", hasLeader(ctx.lab), 30_000);
      ctx.mark("quorum back");
      // The sync follows Consul again: a maintenance reaches both LBs.
      const app = ctx.lab.apps[0]!;
      const maint = ctx.mark(`maint on ${app.name}`);
      await agentOn(ctx.lab, app, "maint on --reason drill");
      const followMs = await measure(ctx, maint, `${app.name} draining on both LBs`, bothLbs(ctx.lab, app, (st) => st === "DRAIN"), 15_000);
      await agentOn(ctx.lab, app, "maint off");
      await ctx.until(`${app.name} UP on both LBs`, bothLbs(ctx.lab, app, up), 15_000);
      return facts({ recoveryMs: quorumMs, quorumMs, followMs });
    },
    checks: (summary, f) => [noFailures(summary), atMost("quorum back after the start", f.quorumMs, 30_000), atMost("a maintenance then reaches both LBs", f.followMs, 2000)],
  },
  {
    name: "consul-all-restart",
    fault: "all 3 Consul servers restarted at once (docker restart)",
    expected: "0 failed; a Raft leader again ≤ 30 s",
    seconds: 40,
    async run(ctx) {
      const restarted = ctx.mark("restart all servers");
      await Promise.all(ctx.lab.servers.map((h) => docker(["restart", "-t", "10", h.container])));
      ctx.mark("all servers started");
      const leaderMs = await measure(ctx, restarted, "a Raft leader again", hasLeader(ctx.lab), 40_000);
      ctx.mark("leader");
      return facts({ recoveryMs: leaderMs, leaderMs });
    },
    checks: (summary, f) => [noFailures(summary), atMost("a leader again after the restart", f.leaderMs, 30_000)],
  },
  {
    name: "lb-kill",
    fault: "hard kill (docker kill) of the VIP holder's host",
    expected: "VIP on the other LB; failures only among requests in flight on the dead LB; longest gap ≤ 0.5 s",
    seconds: 20,
    async run(ctx) {
      const lb = await holder(ctx.lab);
      const killed = ctx.mark(`kill ${lb.name}`);
      await docker(["kill", lb.container]);
      const movedMs = await measure(ctx, killed, "the VIP on the other LB", vipLeft(ctx.lab, lb), 10_000);
      ctx.mark("VIP moved");
      return facts({ recoveryMs: movedMs, movedMs });
    },
    checks: (summary, f) => [
      atMost("VIP on the other LB", f.movedMs, 2000),
      gapAtMostHalfSecond(summary),
      reported("requests in flight on the dead LB", summary),
    ],
  },
  {
    name: "lb-stop",
    fault: "graceful stop (docker stop: systemd shutdown) of the VIP holder's host",
    expected: "0 failed",
    seconds: 20,
    async run(ctx) {
      const lb = await holder(ctx.lab);
      const stopped = ctx.mark(`stop ${lb.name}`);
      const stopping = docker(["stop", lb.container]);
      const movedMs = await measure(ctx, stopped, "the VIP on the other LB", vipLeft(ctx.lab, lb), 15_000);
      ctx.mark("VIP moved");
      await stopping;
      ctx.mark(`${lb.name} stopped`);
      return facts({ recoveryMs: movedMs, movedMs });
    },
    checks: (summary, f) => [noFailures(summary), atMost("VIP on the other LB", f.movedMs, 15_000)],
  },
  {
    name: "lb-return",
    fault: "the LB that was halted (docker stop) comes back",
    expected: "the VIP stays where it is (nopreempt); 0 failed",
    seconds: 30,
    async prepare(lab) {
      const lb = await holder(lab);
      await docker(["stop", lb.container]);
      const deadline = Date.now() + 15_000;
      while ((await lab.vipHolders()).length !== 1 && Date.now() < deadline) await sleep(100);
    },
    async run(ctx) {
      const current = await holder(ctx.lab);
      const back = ctx.lab.lbs.find((lb) => lb.name !== current.name)!;
      const started = ctx.mark(`start ${back.name}`);
      await docker(["start", back.container]);
      const readyMs = await measure(ctx, started, `${back.name} serving again`, async () => (await Promise.all(ctx.lab.apps.map((app) => ctx.lab.backendStatus(back, app)))).every(up), 60_000);
      ctx.mark(`${back.name} back`);
      const holders = await ctx.lab.vipHolders();
      return facts({ recoveryMs: readyMs, readyMs, stayed: holders.length === 1 && holders[0] === current.name ? 1 : 0 });
    },
    checks: (summary, f) => [noFailures(summary), { what: "VIP stayed on the LB that held it (nopreempt)", ok: f.stayed === 1, measured: f.stayed === 1 ? "stayed" : "moved" }],
  },
  {
    name: "haproxy-kill",
    fault: "kill -9 of HAProxy's master on the VIP holder",
    expected: "the VIP moves or HAProxy is back; longest gap ≤ 0.5 s; failures reported",
    seconds: 20,
    async run(ctx) {
      const lb = await holder(ctx.lab);
      const killed = ctx.mark(`kill -9 haproxy on ${lb.name}`);
      await ctx.lab.exec(lb, "kill -9 $(systemctl show --property MainPID --value haproxy)");
      const recoveredMs = await measure(
        ctx,
        killed,
        "HAProxy back or the VIP moved",
        async () => !(await ctx.lab.vipHolders()).includes(lb.name) || (await ctx.lab.exec(lb, `curl -s -o /dev/null -w '%{http_code}' -m 1 http://127.0.0.1:${ctx.lab.topology.load_balancers.frontend_port}/status`).catch(() => "")) === "200",
        15_000,
      );
      ctx.mark("recovered");
      return facts({ recoveryMs: recoveredMs });
    },
    checks: (summary, f) => [
      atMost("HAProxy back or the VIP moved", f.recoveryMs, 5000),
      gapAtMostHalfSecond(summary),
      reported("requests in flight, or refused before the VIP moved", summary),
    ],
  },
  stopOnTheHolder("haproxy", "the VIP leaves before HAProxy stops accepting"),
  stopOnTheHolder("keepalived", "keepalived hands the VIP over before it stops"),
  {
    name: "keepalived-kill",
    fault: "kill -9 of keepalived on the VIP holder",
    expected: "0 failed; never two holders of the VIP for more than 1 s",
    seconds: 20,
    async run(ctx) {
      const lb = await holder(ctx.lab);
      const killedAt = ctx.mark(`kill -9 keepalived on ${lb.name}`);
      await ctx.lab.exec(lb, "kill -9 $(systemctl show --property MainPID --value keepalived)");
      // Watch for 8 s: when the VIP reached the other LB, and the longest stretch with two holders.
      let movedMs: number | undefined;
      let twoSince: number | undefined;
      let twoMaxMs = 0;
      const end = Date.now() + 8000;
      while (Date.now() < end) {
        const holders = await ctx.lab.vipHolders();
        if (movedMs === undefined && holders.some((h) => h !== lb.name)) movedMs = ctx.mark("VIP moved") - killedAt;
        if (holders.length > 1) twoSince ??= Date.now();
        else twoSince = undefined;
        if (twoSince !== undefined) twoMaxMs = Math.max(twoMaxMs, Date.now() - twoSince);
        await sleep(50);
      }
      ctx.mark("watch over");
      return facts({ recoveryMs: movedMs, movedMs, twoHoldersMs: twoMaxMs });
    },
    checks: (summary, f) => [noFailures(summary), atMost("VIP on the other LB", f.movedMs, 2000), { what: "two VIP holders for at most 1.00 s", ok: (f.twoHoldersMs ?? 0) <= 1000, measured: s(f.twoHoldersMs) }],
  },
  {
    name: "lb-freeze",
    fault: "docker pause of the VIP holder for 5 s, then unpause",
    expected:
      "the VIP moves; 0 failed from the move to the unpause; after unpause exactly one holder within 2 s. A node that wakes as MASTER with the higher priority takes the VIP back (VRRP; nopreempt binds only a BACKUP): requests in flight on the peer at that moment can fail, and are reported",
    seconds: 25,
    async run(ctx) {
      const lb = await holder(ctx.lab);
      const freezeAt = ctx.mark(`pause ${lb.name}`);
      await docker(["pause", lb.container]);
      const movedMs = await measure(ctx, freezeAt, "the VIP on the other LB", vipLeft(ctx.lab, lb), 5000);
      const movedAt = ctx.mark("VIP moved");
      await sleep(Math.max(0, 5000 - (movedAt - freezeAt))); // the freeze's length: part of the fault
      const unpaused = ctx.mark(`unpause ${lb.name}`);
      await docker(["unpause", lb.container]);
      let after: string | undefined;
      const oneHolder = async () => {
        const holders = await ctx.lab.vipHolders();
        after = holders[0];
        return holders.length === 1;
      };
      const oneMs = await measure(ctx, unpaused, "exactly one holder", oneHolder, 10_000);
      ctx.mark(after === lb.name ? `one holder: ${lb.name} took the VIP back` : `one holder: ${after ?? "?"}`);
      return facts({ recoveryMs: movedMs, movedMs, oneHolderMs: oneMs, movedAtMs: movedAt, unpausedAtMs: unpaused });
    },
    checks: (summary, f, records) => {
      const failedBetween = (from: number, to: number) => records.filter((r) => r.startMs > from && r.startMs < to && r.outcome !== "ok");
      const whileMoved = failedBetween(f.movedAtMs ?? Infinity, f.unpausedAtMs ?? Infinity).length;
      const atUnpause = failedBetween(f.unpausedAtMs ?? Infinity, Infinity).length;
      return [
        atMost("VIP moved", f.movedMs, 2000),
        { what: "0 failed from the move to the unpause", ok: whileMoved === 0, measured: `${whileMoved} failed, ${summary.failed} in all` },
        atMost("exactly one holder after unpause", f.oneHolderMs, 2000),
        { what: "failures from the unpause on (reported: in flight on the peer if the woken node took the VIP back)", ok: true, measured: `${atUnpause} of ${summary.sent}` },
      ];
    },
  },
];
