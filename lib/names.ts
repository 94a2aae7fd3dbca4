/**
 * Names that several programs must spell the same way. The service registers
 * under a name in Consul, the sync watches that name and writes to the
 * HAProxy backend derived from it, and the lab reads that backend back. If
 * one of them spelled a name differently, the others would quietly see an
 * empty service or "No such backend." Ansible cannot import this file, so
 * ansible/group_vars/lb.yml mirrors the same rule in `haproxy_backend_name`,
 * which the haproxy and haproxy_consul_sync roles both use.
 */

/** The Consul service name when none is configured (SERVICE_NAME, topology `service.name`). */
export const DEFAULT_SERVICE_NAME = "cabify";

/**
 * The HAProxy backend holding a service's `server-template` slots.
 *
 * @example
 * backendName("cabify") // "be_cabify"
 */
export function backendName(service: string): string {
  return `be_${service}`;
}
