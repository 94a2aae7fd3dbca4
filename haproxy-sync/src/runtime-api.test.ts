import { describe, expect, it } from "vitest";
import { parseServersState } from "./runtime-api.js";

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
