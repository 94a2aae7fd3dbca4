import { spawn, type ChildProcess } from "node:child_process";
import { resolve } from "node:path";
import { exited, track } from "./processes.js";
import { waitFor } from "./wait.js";

const repo = resolve(import.meta.dirname, "../..");

export interface ServiceProcess {
  readonly url: string;
  readonly serviceId: string;
  readonly child: ChildProcess;
  /** Every JSON log line the service printed so far. */
  readonly logs: Record<string, unknown>[];
  /** Resolves with the exit code once the process is gone. */
  readonly exit: Promise<number | string>;
  waitForLog(msg: string, timeoutMs?: number): Promise<Record<string, unknown>>;
  signal(signal: NodeJS.Signals): void;
}

/**
 * Runs the real service (`node --import tsx service/src/main.ts`) as a child
 * process on `ip:port`, registering with the Consul agent at `consulHttp`.
 * Resolves once it logs "listening".
 *
 * @example
 * const svc = await startService({ ip: "127.77.5.31", port: 18080, consulHttp: cluster.clients[0].http });
 */
export async function startService({ ip, port, consulHttp, env = {} }: { ip: string; port: number; consulHttp: string; env?: Record<string, string> }): Promise<ServiceProcess> {
  const serviceId = `cabify-${ip}-${port}`;
  const child = track(
    spawn(process.execPath, ["--import", "tsx", "service/src/main.ts"], {
      cwd: repo,
      stdio: ["ignore", "pipe", "pipe"],
      env: {
        PATH: process.env.PATH ?? "",
        SERVICE_ID: serviceId,
        BIND_ADDRESS: ip,
        ADVERTISE_ADDRESS: ip,
        PORT: String(port),
        CONSUL_HTTP_ADDR: consulHttp,
        RESYNC_INTERVAL_SECONDS: "0.5",
        DRAIN_DELAY_SECONDS: "0.5",
        DEBUG_ROUTES: "true",
        ...env,
      },
    }),
  );
  const logs: Record<string, unknown>[] = [];
  let stderr = "";
  let buffered = "";
  child.stdout!.on("data", (chunk: Buffer) => {
    buffered += chunk.toString();
    const lines = buffered.split("\n");
    buffered = lines.pop() ?? "";
    for (const line of lines) if (line.trim()) logs.push(JSON.parse(line) as Record<string, unknown>);
  });
  child.stderr!.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  const exit = exited(child);

  const service: ServiceProcess = {
    url: `http://${ip}:${port}`,
    serviceId,
    child,
    logs,
    exit,
    waitForLog: (msg, timeoutMs = 30_000) =>
      waitFor(`service log "${msg}"`, () => {
        if (child.exitCode !== null) return Promise.reject(new Error(`service exited with ${child.exitCode}: ${stderr}`));
        return Promise.resolve(logs.find((l) => l.msg === msg));
      }, timeoutMs),
    signal: (signal) => child.kill(signal),
  };
  await service.waitForLog("listening");
  return service;
}
