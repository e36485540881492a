// A MicroK8s offline bundle's manifest as `hactl bundle` writes it (core22 and microk8s, each a snap and its
// assertion, and the images of the sandbox and of the addons a default spec turns on: dns, ha-cluster), for
// the unit tests of the bundle, install and upgrade.
import { BUNDLE_API_VERSION, type BundleFile, type BundleManifest } from "../../src/bundle/manifest.js";

export interface BundleFixture {
  /** MicroK8s minor (default 1.29). */
  version?: string;
  /** The microk8s snap's revision (default 7000). */
  revision?: number;
  /** Size and sha256 of every file (default 10 bytes, "a" × 64). */
  size?: number;
  sha256?: string;
  created?: string;
}

export function microk8sBundleManifest(opts: BundleFixture = {}): BundleManifest {
  const file = (name: string, of: string, kind: BundleFile["kind"], images?: string[]): BundleFile => ({
    name,
    of,
    kind,
    size: opts.size ?? 10,
    sha256: opts.sha256 ?? "a".repeat(64),
    ...(images ? { images } : {}),
  });
  const revision = opts.revision ?? 7000;
  return {
    apiVersion: BUNDLE_API_VERSION,
    kind: "Bundle",
    distribution: { type: "microk8s", version: opts.version ?? "1.29" },
    platform: { os: "linux", arch: "amd64" },
    created: opts.created ?? "",
    cluster: "lab",
    files: [
      file("core22_1908.snap", "core22", "snap"),
      file("core22_1908.assert", "core22", "assert"),
      file(`microk8s_${revision}.snap`, "microk8s", "snap"),
      file(`microk8s_${revision}.assert`, "microk8s", "assert"),
      file("sandbox-images.tar", "sandbox", "images", ["registry.k8s.io/pause:3.7"]),
      file("dns-images.tar", "dns", "images", ["docker.io/coredns/coredns:1.10.1"]),
      file("ha-cluster-images.tar", "ha-cluster", "images", ["docker.io/calico/node:v3.25.1"]),
    ],
  };
}

/** A kubeadm offline bundle's manifest as `hactl bundle` writes it: packages, two image tarballs and the CNI manifest. */
export function kubeadmBundleManifest(opts: { version?: string; release?: string } = {}): BundleManifest {
  const file = (name: string, kind: BundleFile["kind"], of: string, images?: string[]): BundleFile => ({
    name,
    kind,
    of,
    size: 10,
    sha256: "a".repeat(64),
    ...(images ? { images } : {}),
  });
  const release = opts.release ?? "v1.32.3";
  const deb = release.replace(/^v/, "");
  return {
    apiVersion: BUNDLE_API_VERSION,
    kind: "Bundle",
    distribution: { type: "kubeadm", version: opts.version ?? "1.32", release },
    platform: { os: "linux", arch: "amd64" },
    created: "",
    cluster: "lab",
    files: [
      file("cni-images.tar", "images", "cni", ["docker.io/calico/node:v3.27.3"]),
      file("cni.yaml", "cni-manifest", "cni"),
      file("conntrack_1%3a1.4.8-1ubuntu1_amd64.deb", "deb", "conntrack"),
      file("containerd_1.7.24-0ubuntu1~24.04.2_amd64.deb", "deb", "containerd"),
      file(`kubeadm_${deb}-1.1_amd64.deb`, "deb", "kubeadm"),
      file(`kubectl_${deb}-1.1_amd64.deb`, "deb", "kubectl"),
      file(`kubelet_${deb}-1.1_amd64.deb`, "deb", "kubelet"),
      file("kubernetes-images.tar", "images", "kubernetes", [`registry.k8s.io/kube-apiserver:${release}`]),
    ],
  };
}
