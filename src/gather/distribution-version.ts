/**
 * Which Kubernetes distribution version a node runs, from the distribution's own output: the snap's, or
 * kubeadm's. Each driver reads it (Distribution.installedVersion).
 */
import type { DistributionVersion } from "../distros/driver.js";
import { parseSnapList as parseMicrok8sSnap } from "../distros/microk8s.js";

export type { DistributionVersion };

/** The version and channel of the microk8s row of `snap list microk8s` (parsed by distros/microk8s.ts). */
export function parseSnapList(stdout: string): DistributionVersion {
  const snap = parseMicrok8sSnap(stdout);
  return snap ? { installed: true, version: snap.version, channel: snap.channel } : { installed: false };
}

/** `kubeadm version -o short` prints "v1.36.5". */
export function parseKubeadmShort(stdout: string): DistributionVersion {
  const version = /^v?\d+\.\d+\.\d+\S*$/.exec(stdout.trim())?.[0];
  return version
    ? { installed: true, version: version.startsWith("v") ? version : `v${version}` }
    : { installed: false };
}
