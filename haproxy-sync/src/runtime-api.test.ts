import { describe, expect, it } from "vitest";
import { isAccepted, parseServersState, runtimeCommand, sendCommand } from "./runtime-api.js";

// Captured from Debian's HAProxy 2.6.12: app1 was declared `disabled`, then
// given an address and set ready (admin state 4: CMAINT alone); app2 is still
// the untouched disabled slot (5: FMAINT | CMAINT); app3 is draining (8 | 4).
const captured = `1
# be_id be_name srv_id srv_name srv_addr srv_op_state srv_admin_state srv_uweight srv_iweight srv_time_since_last_change srv_check_status srv_check_result srv_check_health srv_check_state srv_agent_state bk_f_forced_id srv_f_forced_id srv_fqdn srv_port srvrecord srv_use_ssl srv_check_port srv_check_addr srv_agent_addr srv_agent_port
3 be_cabify 1 app1 127.79.0.31 2 4 10 1 0 1 0 1 6 0 0 0 - 18081 - 0 0 - - 0
3 be_cabify 2 app2 0.0.0.0 0 5 1 1 1 1 0 0 14 0 0 0 - 18081 - 0 0 - - 0
3 be_cabify 3 app3 127.79.0.33 2 12 7 1 0 1 0 1 6 0 0 0 - 18081 - 0 0 - - 0
`;

describe("parseServersState", () => {
  it("reads slots by field name and decodes the admin state bits", () => {
    expect(parseServersState(captured)).toEqual([
      { name: "app1", addr: "127.79.0.31", port: 18081, weight: 10, state: "ready" },
      { name: "app2", addr: "0.0.0.0", port: 18081, weight: 1, state: "maint" },
      { name: "app3", addr: "127.79.0.33", port: 18081, weight: 7, state: "drain" },
    ]);
  });

  it("rejects an answer that is not a servers state table", () => {
    expect(() => parseServersState("Unknown command")).toThrow(/unexpected "show servers state" answer/);
  });
});

// Answers captured from Debian's HAProxy 2.6.12 on a `level admin` socket
// (server-template slots as in ansible/roles/haproxy), trimmed as runtimeCommand does.
describe("isAccepted", () => {
  const addr = "set server be_cabify/app1 addr 10.77.0.31 port 8080";
  it.each([
    ["set server be_cabify/app1 state ready", ""],
    ["set server be_cabify/app1 state drain", ""],
    ["set server be_cabify/app1 state maint", ""],
    ["set server be_cabify/app1 weight 10", ""],
    [addr, "IP changed from '0.0.0.0' to '10.77.0.31', no need to change the port by 'stats socket command'"],
    [addr, "IP changed from '10.77.0.32' to '10.77.0.31', port changed from '18081' to '8080' by 'stats socket command'"],
    [addr, "no need to change the addr, port changed from '18081' to '8080' by 'stats socket command'"],
    [addr, "no need to change the addr, no need to change the port by 'stats socket command'"],
  ])("accepts %j answered %j", (command, answer) => {
    expect(isAccepted(command, answer)).toBe(true);
  });

  it.each([
    ["set server be_cabify/app9 state ready", "No such server."],
    ["set server be_nope/app1 state ready", "No such backend."],
    ["set server be_cabify/app1 state ready", "Permission denied"],
    ["set server be_cabify/app1 weight 300", "Absolute weight can only be between 0 and 256 inclusive."],
    ["set server be_static/s1 weight 5", "Backend is using a static LB algorithm and only accepts weights '0%' and '100%'."],
    ["set server be_cabify/app1 state bogus", "'set server <srv> state' expects 'ready', 'drain' and 'maint'."],
    ["set server be_cabify/app9 addr 10.77.0.31 port 8080", "No such server."],
    ["set server be_cabify/app1 addr 999.1.1.1 port 8080", "Invalid addr '999.1.1.1' by 'stats socket command'"],
    // Half applied: the address changed, the port did not. Not what was asked.
    ["set server be_cabify/app1 addr 10.77.0.31 port x", "IP changed from '0.0.0.0' to '10.77.0.31', problem converting port 'x' to an int by 'stats socket command'"],
    // The connection closed before HAProxy confirmed anything.
    [addr, ""],
  ])("refuses %j answered %j", (command, answer) => {
    expect(isAccepted(command, answer)).toBe(false);
  });
});

describe("sendCommand", () => {
  it("does not send what the Runtime API would read as two commands", async () => {
    const command = "set server be_cabify/app1 addr 10.0.0.1;shutdown frontend fe_cabify port 8080";
    expect(await sendCommand("/nonexistent.sock", command)).toMatchObject({ command, refused: expect.stringMatching(/second command/) as unknown });
    await expect(runtimeCommand("/nonexistent.sock", "set server be_cabify/app1 weight 1\nshutdown frontend fe_cabify")).rejects.toThrow(/second command/);
  });
});
