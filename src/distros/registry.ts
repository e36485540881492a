import type { ClusterSpec } from "../spec/schema.js";
import type { Distribution, DistributionName } from "./driver.js";
import { kubeadmDriver } from "./kubeadm/driver.js";
import { microk8sDriver } from "./microk8s/driver.js";

const DRIVERS: Record<DistributionName, Distribution> = { microk8s: microk8sDriver, kubeadm: kubeadmDriver };

/** The driver of a distribution named in cluster.yaml (or a bundle, a backup). */
export function driverNamed(name: DistributionName): Distribution {
  return DRIVERS[name];
}

/** The driver of the cluster's distribution. */
export function driverFor(spec: ClusterSpec): Distribution {
  return driverNamed(spec.spec.distribution.type);
}

/**
 * The one lookup for what a distribution contributes from a higher layer (a session workflow or planner
 * this layer may not import): each call site lists an entry for every distribution, so adding one is a
 * type error at every place that must learn about it.
 */
export function byDistribution<T>(spec: ClusterSpec, entries: Record<DistributionName, T>): T {
  return entries[spec.spec.distribution.type];
}
