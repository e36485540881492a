// The images the real MicroK8s addons of each minor run (their manifests in canonical/microk8s and
// canonical/microk8s-core-addons), and the sandbox (pause) image containerd needs for every pod. The kit's
// `microk8s enable ADDON` records a registry pull for each of them its containerd lacks.

/** Per minor: pause, Calico, CoreDNS, metrics-server, hostpath-provisioner. @type {Map<string, string[]>} */
const RELEASES = new Map([
  ["1.29", ["3.7", "v3.25.1", "1.10.1", "v0.6.3", "1.5.0"]],
  ["1.30", ["3.7", "v3.25.1", "1.10.1", "v0.6.3", "1.5.0"]],
  ["1.31", ["3.7", "v3.25.1", "1.10.1", "v0.6.3", "1.5.0"]],
  ["1.32", ["3.10", "v3.28.1", "1.10.1", "v0.6.3", "1.5.0"]],
  ["1.33", ["3.10", "v3.29.3", "1.12.1", "v0.7.2", "1.5.0"]],
  ["1.34", ["3.10", "v3.29.3", "1.12.3", "v0.8.0", "1.6.0"]],
  ["1.35", ["3.10", "v3.29.3", "1.13.1", "v0.8.0", "1.6.0"]],
  ["1.36", ["3.10", "v3.29.3", "1.14.3", "v0.8.1", "1.6.0"]],
]);

/**
 * The images `microk8s enable NAME` makes the node pull on MicroK8s `minor` (the sandbox image with them);
 * none for an addon that runs no pods of its own or a minor the kit does not know.
 * @param {string} minor @param {string} name @returns {string[]}
 */
export function addonImages(minor, name) {
  const row = RELEASES.get(minor);
  if (!row) return [];
  const [pause, calico, coredns, metricsServer, hostpath] = row;
  /** @type {Record<string, string[]>} */
  const images = {
    dns: [`docker.io/coredns/coredns:${coredns}`],
    "ha-cluster": ["cni", "kube-controllers", "node"].map((c) => `docker.io/calico/${c}:${calico}`),
    "metrics-server": [`registry.k8s.io/metrics-server/metrics-server:${metricsServer}`],
    "hostpath-storage": [`docker.io/cdkbot/hostpath-provisioner:${hostpath}`, "docker.io/library/busybox:1.28.4"],
  };
  const own = images[name] ?? [];
  return own.length > 0 ? [`registry.k8s.io/pause:${pause}`, ...own] : [];
}
