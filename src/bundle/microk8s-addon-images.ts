/**
 * The container images a MicroK8s node pulls for the addons cluster.yaml turns on, per minor. MicroK8s has
 * no command that lists them on a machine without MicroK8s, so they are written down here, from canonical's
 * sources of each release line (branch <minor>; 1.36 is the default branch of both repositories):
 *
 * - sandbox: `sandbox_image` of canonical/microk8s microk8s-resources/default-args/containerd-template.toml
 *   (every pod's pause container, whatever the addon);
 * - ha-cluster (Calico): canonical/microk8s upgrade-scripts/000-switch-to-calico/resources/calico.yaml;
 * - dns, metrics-server, hostpath-storage: canonical/microk8s-core-addons addons/dns/coredns.yaml,
 *   addons/metrics-server/metrics-server.yaml, addons/hostpath-storage/storage.yaml (its BUSYBOX_IMAGE too).
 *
 * A new MicroK8s minor needs its row here before `hactl bundle` takes it.
 */
import { HactlError } from "../core/errors.js";
import { addonsTurnedOn, type Microk8sAddon } from "../distros/microk8s.js";
import type { AddonsSpec } from "../spec/schema.js";

/** The `of` of the tarball with the sandbox (pause) image, which every addon's pods need. */
export const SANDBOX = "sandbox";

interface ReleaseVersions {
  pause: string;
  calico: string;
  coredns: string;
  metricsServer: string;
  hostpathProvisioner: string;
}

/** Per minor: pause, Calico, CoreDNS, metrics-server, hostpath-provisioner (busybox is 1.28.4 in all). */
const ROWS: readonly (readonly [minor: string, ...versions: [string, string, string, string, string]])[] = [
  ["1.29", "3.7", "v3.25.1", "1.10.1", "v0.6.3", "1.5.0"],
  ["1.30", "3.7", "v3.25.1", "1.10.1", "v0.6.3", "1.5.0"],
  ["1.31", "3.7", "v3.25.1", "1.10.1", "v0.6.3", "1.5.0"],
  ["1.32", "3.10", "v3.28.1", "1.10.1", "v0.6.3", "1.5.0"],
  ["1.33", "3.10", "v3.29.3", "1.12.1", "v0.7.2", "1.5.0"],
  ["1.34", "3.10", "v3.29.3", "1.12.3", "v0.8.0", "1.6.0"],
  ["1.35", "3.10", "v3.29.3", "1.13.1", "v0.8.0", "1.6.0"],
  ["1.36", "3.10", "v3.29.3", "1.14.3", "v0.8.1", "1.6.0"],
];

const RELEASES: ReadonlyMap<string, ReleaseVersions> = new Map(
  ROWS.map(([minor, pause, calico, coredns, metricsServer, hostpathProvisioner]) => [
    minor,
    { pause, calico, coredns, metricsServer, hostpathProvisioner },
  ]),
);

/** The images of each addon and of the sandbox for one release line, as containerd names them. */
function imagesOf(v: ReleaseVersions): Record<Microk8sAddon | typeof SANDBOX, string[]> {
  return {
    [SANDBOX]: [`registry.k8s.io/pause:${v.pause}`],
    dns: [`docker.io/coredns/coredns:${v.coredns}`],
    "ha-cluster": ["cni", "kube-controllers", "node"].map((c) => `docker.io/calico/${c}:${v.calico}`),
    "metrics-server": [`registry.k8s.io/metrics-server/metrics-server:${v.metricsServer}`],
    "hostpath-storage": [
      `docker.io/cdkbot/hostpath-provisioner:${v.hostpathProvisioner}`,
      "docker.io/library/busybox:1.28.4",
    ],
  };
}

/** The MicroK8s minors this table knows, oldest first. */
export const MICROK8S_IMAGE_MINORS = [...RELEASES.keys()];

/** One images tarball of a MicroK8s bundle: what it is for, its file name and its images. */
export interface ImageSet {
  of: string;
  file: string;
  images: string[];
}

/** Pure: what a MicroK8s bundle for these addons holds images of: the sandbox, then each addon turned on. */
export function imageOwners(addons: AddonsSpec): (typeof SANDBOX | Microk8sAddon)[] {
  return [SANDBOX, ...addonsTurnedOn(addons)];
}

/**
 * Pure: the images tarballs a MicroK8s bundle of `minor` carries for the addons cluster.yaml turns on (the
 * sandbox image first, so every addon's pods can start); an error naming the minor and the addons when
 * this table has no row for it.
 */
export function microk8sImageSets(minor: string, addons: AddonsSpec): ImageSet[] {
  const versions = RELEASES.get(minor);
  const turnedOn = addonsTurnedOn(addons);
  if (versions === undefined) {
    throw new HactlError(
      "USAGE",
      `hactl bundle does not know the container images of MicroK8s ${minor}'s addons (${turnedOn.join(", ") || "the sandbox image"})`,
      {
        remedy: `Set spec.distribution.version to a MicroK8s minor whose addon images hactl knows (${MICROK8S_IMAGE_MINORS.join(", ")}), or add the ${minor} row to src/bundle/microk8s-addon-images.ts from canonical/microk8s-core-addons branch ${minor}.`,
      },
    );
  }
  const images = imagesOf(versions);
  return imageOwners(addons).map((of) => ({
    of,
    file: `${of}-images.tar`,
    images: images[of],
  }));
}
