/**
 * The offline bundle's contract: what `hactl bundle` writes (manifest.json first in an uncompressed tar,
 * then the files it lists, and FILE.sha256 beside it) and the pure checks that `install --bundle`
 * makes against the spec and the nodes' facts before anything changes.
 */
import { z } from "zod";
import type { NodeFacts } from "../gather/facts.js";
import type { PreflightCheck } from "../phases/preflight.js";
import type { ClusterSpec } from "../spec/schema.js";
import { imageOwners } from "./microk8s-addon-images.js";

export const BUNDLE_API_VERSION = "hactl.dev/v1alpha1";
export const MANIFEST_NAME = "manifest.json";
const MICROK8S_BASE_NAME = "core22";

const sha256 = z.string().regex(/^[0-9a-f]{64}$/, "a sha256 is 64 lowercase hex digits");
/** A file name inside the bundle: one plain name, never a path (Debian's have `~`, and `%3a` for an epoch's colon). */
const fileName = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._+~%-]*$/, "a bundle file name is one plain file name");

/**
 * What a file is: a snap and its assertion (MicroK8s); a tarball of container images (`ctr images export`;
 * MicroK8s: one per addon turned on and one of the sandbox image); a Debian package or the CNI manifest
 * (kubeadm).
 */
export const BUNDLE_FILE_KINDS = ["snap", "assert", "deb", "images", "cni-manifest"] as const;

export const bundleFileSchema = z.object({
  name: fileName,
  kind: z.enum(BUNDLE_FILE_KINDS),
  /**
   * What the file belongs to: the snap or Debian package (microk8s, core22, kubeadm); for images, kubernetes /
   * cni (kubeadm) or the MicroK8s addon (dns, ha-cluster, ...) / sandbox.
   */
  of: z.string().min(1),
  size: z.number().int().nonnegative(),
  sha256,
  /** An images tarball's image references, as `ctr images import` names them. */
  images: z.array(z.string().min(1)).optional(),
});
export type BundleFile = z.infer<typeof bundleFileSchema>;

export const bundleManifestSchema = z.object({
  apiVersion: z.literal(BUNDLE_API_VERSION),
  kind: z.literal("Bundle"),
  distribution: z.object({
    type: z.enum(["microk8s", "kubeadm"]),
    /** The minor, as spec.distribution.version names it. */
    version: z.string().min(1),
    /** kubeadm: the packages' Kubernetes release of that minor, e.g. v1.32.3. */
    release: z.string().optional(),
  }),
  /** The node platform the files are for, in Debian/snap terms (amd64, arm64). */
  platform: z.object({ os: z.literal("linux"), arch: z.string().min(1) }),
  /** What the bundle was made from and when (informational). */
  created: z.string(),
  cluster: z.string(),
  files: z.array(bundleFileSchema).min(1),
});
export type BundleManifest = z.infer<typeof bundleManifestSchema>;

/** `uname -m` → the architecture names snaps and Debian packages use. */
export function debianArch(unameMachine: string): string {
  const map: Record<string, string> = {
    x86_64: "amd64",
    aarch64: "arm64",
    armv7l: "armhf",
    ppc64le: "ppc64el",
    s390x: "s390x",
  };
  return map[unameMachine] ?? unameMachine;
}

/** The text of FILE.sha256: `<hex>  <basename>`, as sha256sum writes it. */
export function checksumLine(hex: string, baseName: string): string {
  return `${hex}  ${baseName}\n`;
}

/** The hex digest in a FILE.sha256 (sha256sum's format), or undefined when it has none. */
export function parseChecksumLine(text: string): string | undefined {
  return /^([0-9a-f]{64})\s/m.exec(text)?.[1];
}

export interface BundleProblem {
  /** The node the problem is about, or undefined for the bundle as a whole. */
  node?: string;
  message: string;
  fix: string;
}

/**
 * Pure: what keeps this bundle from installing this spec on these nodes: another distribution or
 * version, a node of another architecture, files the install needs missing from the manifest. An upgrade
 * asks about its target version (`upgradeTo`) instead of the spec's.
 */
export function bundleProblems(
  manifest: BundleManifest,
  spec: ClusterSpec,
  facts: ReadonlyMap<string, Pick<NodeFacts, "arch">>,
  upgradeTo?: string,
): BundleProblem[] {
  const problems: BundleProblem[] = [];
  const want = { type: spec.spec.distribution.type, version: upgradeTo ?? spec.spec.distribution.version };
  const wanter = upgradeTo === undefined ? "cluster.yaml wants" : "the upgrade goes to";
  const remake =
    upgradeTo === undefined
      ? `Make a bundle for this cluster.yaml: hactl bundle -f cluster.yaml --out FILE`
      : `Make a bundle of ${upgradeTo} (hactl bundle -f COPY --out FILE, COPY being cluster.yaml with version "${upgradeTo}") and give it: hactl upgrade --to ${upgradeTo} --bundle FILE`;
  if (manifest.distribution.type !== want.type) {
    problems.push({
      message: `the bundle holds ${manifest.distribution.type}, ${wanter} ${want.type}`,
      fix: remake,
    });
  }
  if (manifest.distribution.version !== want.version) {
    problems.push({
      message: `the bundle holds ${manifest.distribution.type} ${manifest.distribution.version}, ${wanter} ${want.version}`,
      fix: remake,
    });
  }
  for (const node of spec.spec.nodes) {
    const arch = facts.get(node.name)?.arch;
    if (arch === undefined || arch === "") continue;
    if (debianArch(arch) !== manifest.platform.arch) {
      problems.push({
        node: node.name,
        message: `${node.name} is ${debianArch(arch)} (${arch}), the bundle is for ${manifest.platform.arch}`,
        fix: `Make the bundle with hactl bundle on a ${debianArch(arch)} machine (snap download, apt-get download and ctr fetch for the machine they run on).`,
      });
    }
  }
  // the files only matter for the distribution cluster.yaml wants
  const required = manifest.distribution.type === want.type ? REQUIRED_FILES[want.type](spec) : [];
  for (const [kind, of] of required) {
    if (!manifest.files.some((f) => f.of === of && f.kind === kind))
      problems.push({ message: `the bundle has no ${kind} file of ${of}`, fix: remake });
  }
  return problems;
}

/** The Debian packages a kubeadm bundle carries: Kubernetes' own, the container runtime and what kubelet needs beyond a minimal server. */
export const KUBEADM_BUNDLE_PACKAGES = [
  "kubeadm",
  "kubelet",
  "kubectl",
  "cri-tools",
  "kubernetes-cni",
  "containerd",
  "runc",
  "conntrack",
  "socat",
  "ethtool",
  "ebtables",
  "iptables",
] as const;

/** The files an install of this spec needs from a bundle, as [kind, of]. */
const REQUIRED_FILES: Record<
  BundleManifest["distribution"]["type"],
  (spec: ClusterSpec) => (readonly [BundleFile["kind"], string])[]
> = {
  microk8s: (spec) => [
    ["snap", MICROK8S_BASE_NAME],
    ["assert", MICROK8S_BASE_NAME],
    ["snap", "microk8s"],
    ["assert", "microk8s"],
    ...imageOwners(spec.spec.addons).map((of) => ["images", of] as const),
  ],
  kubeadm: () => [
    ...(["kubeadm", "kubelet", "kubectl", "containerd"] as const).map((p) => ["deb", p] as const),
    ["images", "kubernetes"],
    ["cni-manifest", "cni"],
  ],
};

/** The base snap MicroK8s is built on (snapcraft.yaml: `base: core22`). */
export const MICROK8S_BASE = MICROK8S_BASE_NAME;

/** The files of one snap in the bundle, assertion and snap file. */
export function snapFiles(manifest: BundleManifest, of: string): { snap: BundleFile; assert: BundleFile } | undefined {
  const snap = manifest.files.find((f) => f.of === of && f.kind === "snap");
  const assert = manifest.files.find((f) => f.of === of && f.kind === "assert");
  return snap && assert ? { snap, assert } : undefined;
}

/** Where a node keeps the bundle it was sent: one directory per bundle checksum, under /tmp. */
export function nodeBundleDir(bundleSha256: string): string {
  return `/tmp/hactl-bundle-${bundleSha256.slice(0, 16)}`;
}

/** Pure: the bundle's preflight lines: one ok line, or a fail line per problem (each with its fix). */
export function bundleChecks(
  manifest: BundleManifest,
  bundleName: string,
  spec: ClusterSpec,
  facts: ReadonlyMap<string, Pick<NodeFacts, "arch">>,
): PreflightCheck[] {
  const problems = bundleProblems(manifest, spec, facts);
  if (problems.length === 0) {
    const { type, version } = manifest.distribution;
    return [
      {
        node: "workstation",
        check: "bundle",
        status: "ok",
        message: `${bundleName}: ${type} ${version} for linux/${manifest.platform.arch}, checksum ok`,
      },
    ];
  }
  return problems.map((p) => ({
    node: p.node ?? "workstation",
    check: "bundle",
    status: "fail",
    message: p.message,
    fix: p.fix,
  }));
}
