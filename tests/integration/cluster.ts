import { afterAll, beforeAll, beforeEach } from "vitest";
import { createConsulClient, type ConsulClient } from "../../lib/consul.js";
import { startConsulCluster, type ConsulCluster } from "../../tools/loopback/consul.js";
import { startService, type ServiceProcess } from "../../tools/loopback/service.js";
import { waitFor } from "../../tools/loopback/wait.js";

interface ClusterContext {
  readonly cluster: ConsulCluster;
  /** The client agent's API: where services register. */
  readonly consul: ConsulClient;
  /** Starts a service at `${subnet}.${lastOctet}:18081`, registering with the client agent; killed after the file. */
  start(lastOctet: number, env?: Record<string, string>, consulHttp?: string): Promise<ServiceProcess>;
  /** Waits until Consul reports `svc` passing. */
  passing(svc: ServiceProcess, through?: ConsulClient): Promise<void>;
}

/**
 * One real 3-server quorum + 1 client agent for a test file: started before
 * its tests, and every service and agent killed after them. Before each test
 * the cluster is made whole again (an agent an earlier test killed and left
 * down is restarted, and the test waits for a leader and full membership),
 * so no test depends on how the one before it ended.
 *
 * @example
 * const ctx = useConsulCluster();
 * it("...", async () => { const svc = await ctx.start(31); await ctx.passing(svc); });
 */
export function useConsulCluster(): ClusterContext {
  let cluster: ConsulCluster | undefined;
  let consul: ConsulClient | undefined;
  const services: ServiceProcess[] = [];

  beforeAll(async () => {
    cluster = await startConsulCluster({ clients: 1 });
    consul = createConsulClient(cluster.clients[0]!.http);
  });

  beforeEach(async () => {
    await ready(cluster).whole();
  });

  afterAll(async () => {
    for (const svc of services) svc.signal("SIGKILL");
    await Promise.all(services.map((s) => s.exit));
    await cluster?.stop();
  });

  const ready = <T>(value: T | undefined): T => {
    if (value === undefined) throw new Error("the cluster is not up yet (use it inside a test)");
    return value;
  };

  return {
    get cluster() {
      return ready(cluster);
    },
    get consul() {
      return ready(consul);
    },
    async start(lastOctet, env = {}, consulHttp) {
      const c = ready(cluster);
      const svc = await startService({ ip: `${c.subnet}.${lastOctet}`, port: 18081, consulHttp: consulHttp ?? c.clients[0]!.http, env });
      services.push(svc);
      return svc;
    },
    async passing(svc, through = ready(consul)) {
      await waitFor(`${svc.serviceId} passing in Consul`, async () => (await through.health("cabify", true)).some((e) => e.Service.ID === svc.serviceId));
    },
  };
}
