/**
 * haproxy-consul-sync: makes an HAProxy backend follow Consul's health of one
 * service, through the Runtime API (no reloads, no dropped connections).
 *
 * Two loops share the latest view of the service:
 * - the watch holds a blocking query on /v1/health/service/<name>, which
 *   wakes it within milliseconds of any change;
 * - the applier reads `show servers state`, plans the difference (plan.ts)
 *   and sends it, whenever the view changes, every RESYNC_SECONDS (repairing
 *   a restarted HAProxy), and sooner after a refused command (250 ms
 *   doubling to 5 s).
 * While Consul is unreachable it changes nothing: HAProxy keeps the last
 * known backends and its own health checks. A stop aborts the blocking query
 * and every wait at once; a reconcile under way finishes (it is a few local
 * socket round trips), and nothing new starts.
 */
import { setTimeout as sleep } from "node:timers/promises";
import { createConsulClient } from "../../lib/consul.js";
import { errorFields, type Logger } from "../../lib/log.js";
import { desiredFromHealth, planCommands, type Desired } from "./plan.js";
import { parseServersState, runtimeCommand, sendCommand, type CommandResult } from "./runtime-api.js";

export interface SyncOptions {
  consulAddress: string;
  consulToken: string | undefined;
  service: string;
  socket: string;
  backend: string;
  resyncSeconds: number;
  log: Logger;
  signal: AbortSignal;
}

/** Seconds a blocking query may wait in Consul before it answers "no change". */
const WATCH_WAIT_SECONDS = 30;

export interface ReconcileResult {
  /** Commands HAProxy applied, in order. */
  applied: string[];
  /** Commands HAProxy refused, with its answers. */
  refused: CommandResult[];
  /** Commands not sent because an earlier command for the same slot was refused. */
  skipped: string[];
}

/**
 * Applies `desired` to HAProxy once: reads the slots, plans, sends. A refused
 * command is logged at error level and stops the rest of that slot's
 * commands (a slot whose new address was refused must not be set `ready` at
 * its old one), while other slots still get theirs. Throws only when the
 * Runtime API cannot be reached or read.
 *
 * @example
 * const { refused } = await reconcile({ socket: "/run/haproxy/admin.sock", backend: "be_cabify", log }, desired);
 */
async function reconcile({ socket, backend, log }: Pick<SyncOptions, "socket" | "backend" | "log">, desired: Desired[]): Promise<ReconcileResult> {
  const slots = parseServersState(await runtimeCommand(socket, `show servers state ${backend}`));
  const { commands, unplaced } = planCommands(backend, slots, desired);
  const result: ReconcileResult = { applied: [], refused: [], skipped: [] };
  const refusedTargets = new Set<string>();
  for (const command of commands) {
    const target = targetOf(command);
    if (refusedTargets.has(target)) {
      result.skipped.push(command);
      continue;
    }
    const sent = await sendCommand(socket, command);
    if (sent.refused === undefined) {
      result.applied.push(command);
      log.info("haproxy updated", { command, ...(sent.answer ? { answer: sent.answer } : {}) });
    } else {
      result.refused.push(sent);
      refusedTargets.add(target);
      log.error("HAProxy refused a command; will retry", { command, answer: sent.answer, reason: sent.refused });
    }
  }
  if (result.skipped.length > 0) log.warn("held back until the refused command is accepted", { commands: result.skipped });
  if (unplaced.length > 0) log.error("no free server slot; raise haproxy_backend_slots", { unplaced: unplaced.map((d) => d.id), slots: slots.length });
  return result;
}

/** "set server be_cabify/app1 weight 10" → "be_cabify/app1": the one slot a planned command touches. */
function targetOf(command: string): string {
  return /^set server (\S+)/.exec(command)?.[1] ?? command;
}

/** 250 ms after the first failed reconcile, doubling up to 5 s: soon enough to matter, slow enough to stay quiet. */
export function retryDelayMs(failures: number): number {
  return Math.min(250 * 2 ** Math.max(failures - 1, 0), 5000);
}

/**
 * 500 ms after the first failed Consul call, then 1 s: the local agent costs
 * next to nothing to ask, and when the servers are back, HAProxy must hear of
 * changes within a second or two. (After a quorum loss the first consistent
 * re-read can fail while the new leader takes office; with a 5 s cap the next
 * try came 4.8 s later, in the consul-quorum-loss drill.)
 */
export function consulDelayMs(failures: number): number {
  return Math.min(500 * 2 ** (failures - 1), 1000);
}

/**
 * Runs until `signal` aborts, and returns within moments of it: the blocking
 * query and every wait end on abort.
 *
 * @example
 * const stop = new AbortController();
 * process.once("SIGTERM", () => stop.abort());
 * await runSync({ consulAddress: "http://127.0.0.1:8500", consulToken, service: "cabify", socket: "/run/haproxy/admin.sock", backend: "be_cabify", resyncSeconds: 5, log, signal: stop.signal });
 */
export async function runSync(options: SyncOptions): Promise<void> {
  const { consulAddress, consulToken, service, resyncSeconds, log, signal } = options;
  const consul = createConsulClient(consulAddress, consulToken);
  const resyncMs = resyncSeconds * 1000;
  const changed = createWakeup();
  let desired: Desired[] | undefined;

  async function watch(): Promise<void> {
    let index = "0";
    let failures = 0;
    while (!signal.aborted) {
      try {
        const result = await consul.watchHealth(service, index, WATCH_WAIT_SECONDS, { signal });
        // Consul's index can go backwards (e.g. a snapshot restore): start over.
        index = BigInt(result.index) < BigInt(index) ? "0" : result.index;
        if (failures > 0) log.info("Consul reachable again", { after_failures: failures });
        failures = 0;
        desired = desiredFromHealth(result.entries);
        changed.wake();
      } catch (err) {
        if (signal.aborted) break;
        // Unreachable, an HTTP error, or an answer without X-Consul-Index:
        // all the same here, and none may be retried at once (a busy loop).
        failures += 1;
        // Start over with a query that answers at once: after an outage the
        // old index could hold the first query for 30 s (nothing changed), and
        // a restarted agent's view is best re-read whole.
        index = "0";
        const fields = { ...errorFields(err), failures };
        if (failures === 1 || failures % 10 === 0) log.warn("cannot watch Consul; HAProxy keeps its last known backends", fields);
        else log.debug("cannot watch Consul", fields);
        await sleep(consulDelayMs(failures), undefined, { signal }).catch(() => undefined);
      }
    }
  }

  // The only caller of reconcile, so one runs at a time, always on the latest view.
  async function apply(): Promise<void> {
    let failures = 0;
    let delay = resyncMs;
    for (;;) {
      await changed.wait(delay, signal);
      if (signal.aborted) return;
      const view = desired;
      if (!view) continue; // Nothing heard from Consul yet: HAProxy keeps what it has.
      let ok = false;
      try {
        ok = (await reconcile(options, view)).refused.length === 0;
      } catch (err) {
        const fields = { ...errorFields(err), failures: failures + 1 };
        if (failures === 0 || (failures + 1) % 10 === 0) log.warn("could not update HAProxy; will retry", fields);
        else log.debug("could not update HAProxy", fields);
      }
      if (ok) {
        if (failures > 0) log.info("HAProxy accepts updates again", { after_failures: failures });
        failures = 0;
        delay = resyncMs;
      } else {
        failures += 1;
        delay = Math.min(retryDelayMs(failures), resyncMs);
      }
    }
  }

  await Promise.all([watch(), apply()]);
}

/**
 * A wake-up call between the two loops that is not lost when it comes while
 * nobody waits (a change during a reconcile triggers the next one at once).
 */
function createWakeup() {
  let pending = false;
  let waiter: (() => void) | undefined;
  return {
    wake() {
      pending = true;
      waiter?.();
    },
    /** Resolves on a wake (now or earlier), after `ms`, or when `signal` aborts, whichever is first. */
    wait(ms: number, signal: AbortSignal): Promise<void> {
      if (pending || signal.aborted) {
        pending = false;
        return Promise.resolve();
      }
      return new Promise((resolve) => {
        const done = () => {
          clearTimeout(timer);
          signal.removeEventListener("abort", done);
          waiter = undefined;
          pending = false;
          resolve();
        };
        // Node turns a delay past 2^31-1 ms into 1 ms: a huge RESYNC_SECONDS must not become a busy loop.
        const timer = setTimeout(done, Math.min(ms, 2 ** 31 - 1));
        signal.addEventListener("abort", done, { once: true });
        waiter = done;
      });
    },
  };
}
