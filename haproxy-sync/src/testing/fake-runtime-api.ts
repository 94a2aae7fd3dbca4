import { mkdtempSync, rmSync } from "node:fs";
import { createServer, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { AdminState, Slot } from "../plan.js";

export interface FakeRuntimeApi {
  readonly path: string;
  /** Every command line received, in order (reads included). */
  readonly commands: string[];
  /** The `set server` commands received, in order. */
  readonly sets: string[];
  /** The slots as they are now. */
  readonly slots: Slot[];
  /** Return an answer to refuse a command with it (nothing changes), or undefined to apply it. */
  refuse: (command: string) => string | undefined;
  /** Awaited before a `set server` command is answered: lets a test hold HAProxy mid-reconcile. */
  gate: (command: string) => Promise<void>;
  close(): Promise<void>;
}

// srv_admin_state as HAProxy 2.6 reports a `disabled` template slot: CMAINT
// (0x04) always, plus FMAINT (0x01) in maintenance or FDRAIN (0x08) draining.
const ADMIN: Record<AdminState, number> = { ready: 0x04, drain: 0x0c, maint: 0x05 };

/**
 * An in-process stand-in for HAProxy's Runtime API on a UNIX socket: one
 * backend of `server-template` slots, answering `show servers state` and
 * the `set server` commands with the texts HAProxy 2.6.12 really gives
 * (see runtime-api.ts), and refusing whatever `refuse` says, which a real
 * HAProxy cannot be made to do on cue.
 *
 * @example
 * const haproxy = await startFakeRuntimeApi("be_cabify", 2);
 * haproxy.refuse = (c) => (c.includes(" addr ") ? "No such server." : undefined);
 */
export async function startFakeRuntimeApi(backend: string, slotCount: number): Promise<FakeRuntimeApi> {
  const dir = mkdtempSync(join(tmpdir(), "fake-haproxy-"));
  const path = join(dir, "admin.sock");
  const slots: Slot[] = Array.from({ length: slotCount }, (_, i) => ({ name: `app${i + 1}`, addr: "0.0.0.0", port: 8080, weight: 1, state: "maint" }));
  const commands: string[] = [];
  const sets: string[] = [];

  const fake: FakeRuntimeApi = {
    path,
    commands,
    sets,
    slots,
    refuse: () => undefined,
    gate: () => Promise.resolve(),
    close,
  };

  function showServersState(name: string): string {
    if (name !== backend) return "Can't find backend.";
    const header = "# be_id be_name srv_id srv_name srv_addr srv_op_state srv_admin_state srv_uweight srv_iweight srv_port";
    const rows = slots.map((s, i) => `3 ${backend} ${i + 1} ${s.name} ${s.addr} 2 ${ADMIN[s.state]} ${s.weight} 1 ${s.port}`);
    return ["1", header, ...rows].join("\n");
  }

  function setServer(target: string, what: string[]): string {
    const [be, name] = target.split("/");
    if (be !== backend) return "No such backend.";
    const slot = slots.find((s) => s.name === name);
    if (!slot) return "No such server.";
    const [verb, value, , port] = what;
    if (verb === "state" && (value === "ready" || value === "drain" || value === "maint")) {
      slot.state = value;
      return "";
    }
    if (verb === "weight" && value !== undefined && /^\d+$/.test(value)) {
      if (Number(value) > 256) return "Absolute weight can only be between 0 and 256 inclusive.";
      slot.weight = Number(value);
      return "";
    }
    if (verb === "addr" && value !== undefined && port !== undefined) {
      const ip = slot.addr === value ? "no need to change the addr" : `IP changed from '${slot.addr}' to '${value}'`;
      const p = String(slot.port) === port ? "no need to change the port" : `port changed from '${slot.port}' to '${port}'`;
      slot.addr = value;
      slot.port = Number(port);
      return `${ip}, ${p} by 'stats socket command'`;
    }
    return "usage: set server <backend>/<server> addr | agent | agent-addr | agent-port | agent-send | check-addr | check-port | fqdn | health | ssl | state | weight";
  }

  async function answer(line: string): Promise<string> {
    commands.push(line);
    const words = line.split(/\s+/);
    if (line.startsWith("show servers state ")) return showServersState(words[3] ?? "");
    if (line.startsWith("set server ")) {
      sets.push(line);
      await fake.gate(line);
      return fake.refuse(line) ?? setServer(words[2] ?? "", words.slice(3));
    }
    return "Unknown command";
  }

  // allowHalfOpen: the sync half-closes after its command, and HAProxy still
  // answers; Node's default would close this side before a held answer.
  const server = createServer({ allowHalfOpen: true }, (socket: Socket) => {
    let input = "";
    let answered = false;
    socket.on("data", (chunk: Buffer) => {
      input += chunk.toString();
      const end = input.indexOf("\n");
      // One command per connection, as the sync sends them.
      if (end < 0 || answered) return;
      answered = true;
      void answer(input.slice(0, end).trim()).then((text) => socket.end(`${text}\n\n`));
    });
    socket.on("error", () => undefined);
  });
  await new Promise<void>((resolve) => server.listen(path, resolve));

  async function close(): Promise<void> {
    await new Promise<void>((resolve) => server.close(() => resolve()));
    rmSync(dir, { recursive: true, force: true });
  }
  return fake;
}
