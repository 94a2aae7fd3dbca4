import { createConnection } from "node:net";
import type { AdminState, Slot } from "./plan.js";

/**
 * Sends one command to HAProxy's Runtime API (the `stats socket ... level
 * admin` UNIX socket) and resolves with its whole answer.
 *
 * @example
 * await runtimeCommand("/run/haproxy/admin.sock", "set server be_cabify/app1 state drain");
 */
export function runtimeCommand(socketPath: string, command: string, timeoutMs = 2000): Promise<string> {
  return new Promise((resolve, reject) => {
    let answer = "";
    const socket = createConnection(socketPath, () => socket.end(`${command}\n`));
    socket.setTimeout(timeoutMs, () => socket.destroy(new Error(`HAProxy runtime API at ${socketPath} did not answer "${command}" within ${timeoutMs} ms`)));
    socket.on("data", (chunk: Buffer) => (answer += chunk.toString()));
    socket.on("error", (err) => reject(new Error(`HAProxy runtime API at ${socketPath}: ${err.message}`)));
    socket.on("close", (hadError) => hadError || resolve(answer.trim()));
  });
}

// srv_admin_state bits (HAProxy's SRV_ADMF_*): forced, inherited, resolver
// and hostname maintenance; forced and inherited drain. Not 0x04 (CMAINT): it
// only records `disabled` in the config and stays set once the slot serves.
const MAINT_BITS = 0x01 | 0x02 | 0x20 | 0x40;
const DRAIN_BITS = 0x08 | 0x10;

/**
 * Parses `show servers state <backend>`: a version line, a `# field names`
 * header, then one line per server. Fields are read by name, not position,
 * because HAProxy appends new columns between versions.
 */
export function parseServersState(text: string): Slot[] {
  const lines = text.split("\n").map((l) => l.trim()).filter(Boolean);
  const header = lines.find((l) => l.startsWith("#"));
  if (!header) throw new Error(`unexpected "show servers state" answer: ${text.slice(0, 200)}`);
  const fields = header.slice(1).trim().split(/\s+/);
  const at = (row: string[], name: string) => row[fields.indexOf(name)] ?? "";
  return lines
    .filter((l) => !l.startsWith("#") && /\s/.test(l))
    .map((line) => {
      const row = line.split(/\s+/);
      const admin = Number(at(row, "srv_admin_state"));
      const state: AdminState = admin & MAINT_BITS ? "maint" : admin & DRAIN_BITS ? "drain" : "ready";
      return { name: at(row, "srv_name"), addr: at(row, "srv_addr"), port: Number(at(row, "srv_port")), weight: Number(at(row, "srv_uweight")), state };
    });
}
