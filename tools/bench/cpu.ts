import { execFileSync } from "node:child_process";
import { readFileSync, readdirSync } from "node:fs";

/** CPU time in ms per process, keyed by pid, with the command name. */
export type CpuSnapshot = Map<number, { command: string; ms: number }>;

const ticksPerSecond = Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim()) || 100;

/**
 * User + system CPU time of every process on this machine (/proc/<pid>/stat).
 * Lab containers share the host's kernel, so HAProxy, journald, the app
 * instances and the client all show up here, side by side.
 */
export function cpuSnapshot(): CpuSnapshot {
  const snapshot: CpuSnapshot = new Map();
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${entry}/stat`, "utf8");
    } catch {
      continue; // exited meanwhile
    }
    // "pid (comm) state ppid ..." — comm may hold spaces and parentheses: split at the last ')'.
    const close = stat.lastIndexOf(")");
    const command = stat.slice(stat.indexOf("(") + 1, close);
    const fields = stat.slice(close + 2).split(" ");
    // Fields 14 and 15 of stat (utime, stime) are 12 and 13 after "state".
    const ticks = Number(fields[11]) + Number(fields[12]);
    snapshot.set(Number(entry), { command, ms: (ticks * 1000) / ticksPerSecond });
  }
  return snapshot;
}

/**
 * CPU ms spent between two snapshots, summed by command name ("haproxy",
 * "systemd-journal", "node", ...), this process counted apart as `self` and
 * the kernel's workers together; largest first. A process that ended in between is not counted.
 */
export function cpuSpent(before: CpuSnapshot, after: CpuSnapshot, self = "bench client"): [string, number][] {
  // Kernel workers name themselves after their current job ("kworker/u8:1-writeback"): one name for all.
  const nameOf = (pid: number, command: string) => (pid === process.pid ? self : command.startsWith("kworker/") ? "kernel workers" : command);
  const byName = new Map<string, number>();
  for (const [pid, now] of after) {
    const name = nameOf(pid, now.command);
    const then = before.get(pid);
    // A pid whose name changed is a new process that reused it: all its time is new.
    const spent = now.ms - (then && nameOf(pid, then.command) === name ? then.ms : 0);
    if (spent > 0) byName.set(name, (byName.get(name) ?? 0) + spent);
  }
  return [...byName].sort((a, b) => b[1] - a[1]);
}
