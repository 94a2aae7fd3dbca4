import { defineConfig } from "vitest/config";

// Two projects: fast unit tests beside the code, and integration tests that
// start real Consul servers. Files run one at a time: each integration file
// brings up its own quorum, and this reference machine has 2 cores.
export default defineConfig({
  test: {
    fileParallelism: false,
    projects: [
      {
        test: {
          name: "unit",
          include: ["lib/**/*.test.ts", "service/**/*.test.ts", "haproxy-sync/**/*.test.ts", "tools/**/*.test.ts"],
        },
      },
      {
        test: {
          name: "integration",
          include: ["tests/integration/**/*.test.ts"],
          testTimeout: 60_000,
          hookTimeout: 90_000,
        },
      },
    ],
  },
});
