/** Which Kubernetes distribution version a node runs (read-only): the snap's, or kubeadm's. */
import type { RemoteHost } from "../core/host.js";
import { kubeadm } from "../distros/kubeadm.js";
import { microk8s, parseSnapList as parseMicrok8sSnap } from "../distros/microk8s.js";

export interface DistributionVersion {
  installed: boolean;
  /** "v1.36.5" */
  version?: string | undefined;
  /** MicroK8s: the snap channel it tracks, "1.36/stable". */
  channel?: string | undefined;
}

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

export async function distributionVersion(
  host: RemoteHost,
  distribution: "microk8s" | "kubeadm",
): Promise<DistributionVersion> {
  if (distribution === "microk8s") {
    const res = await host.exec(microk8s.isInstalled());
    return res.code === 0 ? parseSnapList(res.stdout) : { installed: false };
  }
  const res = await host.exec(kubeadm.versionShort());
  return res.code === 0 ? parseKubeadmShort(res.stdout) : { installed: false };
}
