import type { Metrics } from "./metrics.js";

/**
 * The instance's lifecycle as readiness sees it. Ready means: registered with
 * Consul (or registration is someone else's job) and not draining. A load
 * balancer that only sees /readyz therefore agrees with Consul.
 */
export interface Lifecycle {
  readonly registered: boolean;
  readonly draining: boolean;
  readonly ready: boolean;
  markRegistered(): void;
  startDraining(): void;
}

export function createLifecycle(metrics: Metrics, registeredAtStart: boolean): Lifecycle {
  let registered = registeredAtStart;
  let draining = false;
  const publish = () => {
    metrics.setGauge("cabify_ready", registered && !draining ? 1 : 0);
    metrics.setGauge("cabify_draining", draining ? 1 : 0);
  };
  publish();
  return {
    get registered() {
      return registered;
    },
    get draining() {
      return draining;
    },
    get ready() {
      return registered && !draining;
    },
    markRegistered() {
      registered = true;
      publish();
    },
    startDraining() {
      draining = true;
      publish();
    },
  };
}
