import { createConnection } from "node:net";
import type { AdminState, Slot } from "./plan.js";

/**
 * Sends one command to HAProxy's Runtime API (the `stats socket ... level
 * admin` UNIX socket) and resolves with its whole answer, trimmed. It does
 * not judge the answer: HAProxy reports a refusal as ordinary text (see
 * `sendCommand`).
 *
 * @example
 * await runtimeCommand("/run/haproxy/admin.sock", "show servers state be_cabify");
 */
export function runtimeCommand(socketPath: string, command: string, timeoutMs = 2000): Promise<string> {
  const unsafe = unsafeReason(command);
  if (unsafe) return Promise.reject(new Error(`not sending ${JSON.stringify(command)} to HAProxy: ${unsafe}`));
  return new Promise((resolve, reject) => {
    let answer = "";
    const socket = createConnection(socketPath, () => socket.end(`${command}\n`));
    socket.setTimeout(timeoutMs, () => socket.destroy(new Error(`HAProxy runtime API at ${socketPath} did not answer "${command}" within ${timeoutMs} ms`)));
    socket.on("data", (chunk: Buffer) => (answer += chunk.toString()));
    socket.on("error", (err) => reject(new Error(`HAProxy runtime API at ${socketPath}: ${err.message}`)));
    socket.on("close", (hadError) => hadError || resolve(answer.trim()));
  });
}

// The Runtime API splits its input into commands at ";" and at line breaks
// (tried on 2.6.12: "set server a/b weight 4; set server a/c weight 5" ran
// both). Addresses come from Consul, so a crafted one must not become a
// second admin command.
function unsafeReason(command: string): string | undefined {
  return /[;\r\n]/.test(command) ? `it contains ";" or a line break, which the Runtime API would run as a second command` : undefined;
}

/**
 * What HAProxy 2.6.12 (Debian 12) answers to the commands the sync sends,
 * observed on a real `level admin` socket:
 * - `set server B/S state ready|drain|maint` and `set server B/S weight W`:
 *   an empty answer when applied, also when nothing changes;
 * - `set server B/S addr A port P`: always text. Applied: "IP changed from
 *   '0.0.0.0' to '10.77.0.31', no need to change the port by 'stats socket
 *   command'" (each half is "X changed from 'a' to 'b'" or "no need to change
 *   the X"). Refused: "Invalid addr 'x' by 'stats socket command'", or a
 *   half-applied "IP changed ..., problem converting port 'x' to an int by ...".
 * - refusals of any command: "No such server.", "No such backend.",
 *   "Permission denied" (socket below level admin), "Absolute weight can only
 *   be between 0 and 256 inclusive.", "Backend is using a static LB algorithm
 *   and only accepts weights '0%' and '100%'.", usage texts, "Unknown command, ...".
 * So: known success text is success, anything else is a refusal.
 */
const ADDR_COMMAND = /^set server \S+ addr /;
const ADDR_APPLIED = /^(?:IP changed from '[^']*' to '[^']*'|no need to change the addr)(?:, (?:port changed from '\d+' to '\d+'|no need to change the port))? by 'stats socket command'$/;

/**
 * Whether HAProxy's `answer` to a `set server ...` command means it applied it.
 *
 * @example
 * isAccepted("set server be_cabify/app1 state drain", "") // true
 * isAccepted("set server be_cabify/app9 state drain", "No such server.") // false
 */
export function isAccepted(command: string, answer: string): boolean {
  const text = answer.trim();
  return ADDR_COMMAND.test(command) ? ADDR_APPLIED.test(text) : text === "";
}

// What a person can do about the refusals seen so far.
const HINTS: [RegExp, string][] = [
  [/^Permission denied/, "the stats socket must be declared with `level admin`"],
  [/^No such backend/, "HAPROXY_BACKEND does not name a backend in haproxy.cfg"],
  [/^No such server/, "HAProxy has no such slot (reloaded with fewer server-template slots?); the retry re-reads the slots"],
  [/^Absolute weight/, "HAProxy weights stop at 256: lower the instance's Consul weight"],
  [/static LB algorithm/, "the backend needs a dynamic balance algorithm such as roundrobin"],
  [/^Invalid addr/, "the instance's Consul address is not an IP address"],
];

export interface CommandResult {
  command: string;
  /** HAProxy's answer, trimmed ("" is how most commands say "done"). */
  answer: string;
  /** Undefined when HAProxy applied the command; otherwise why it did not, for a person. */
  refused?: string;
}

/**
 * Sends one `set server ...` command and judges the answer (`isAccepted`).
 * A refusal is a value, not an exception: the caller decides what else to
 * send. Only a socket that cannot be reached, or does not answer, throws.
 *
 * @example
 * const result = await sendCommand("/run/haproxy/admin.sock", "set server be_cabify/app1 weight 10");
 * if (result.refused) log.error("HAProxy refused a command", { command: result.command, answer: result.answer });
 */
export async function sendCommand(socketPath: string, command: string, timeoutMs = 2000): Promise<CommandResult> {
  const unsafe = unsafeReason(command);
  if (unsafe) return { command, answer: "", refused: `not sent: ${unsafe}` };
  const answer = await runtimeCommand(socketPath, command, timeoutMs);
  if (isAccepted(command, answer)) return { command, answer };
  const hint = HINTS.find(([pattern]) => pattern.test(answer))?.[1];
  const said = answer === "" ? "HAProxy gave no answer where it always confirms" : `HAProxy answered ${JSON.stringify(answer)}`;
  return { command, answer, refused: hint ? `${said}: ${hint}` : said };
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
