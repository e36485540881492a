/**
 * Rules of spec.storage that one field's schema cannot express: mount points that collide or would hide a
 * system directory, an NFS server that is one of the cluster's VIPs (it moves between the nodes; the server must
 * not), and the NFS StorageClass on kubeadm without a helm binary to install its driver with.
 */
import type { PathSegment, ProblemDraft } from "./problems.js";
import type { SpecParts } from "./spec-parts.js";

/** Directories a shared mount must not cover: the node would stop working. */
const SYSTEM_DIRS = new Set([
  "/",
  "/bin",
  "/boot",
  "/dev",
  "/etc",
  "/home",
  "/lib",
  "/lib64",
  "/opt",
  "/proc",
  "/root",
  "/run",
  "/sbin",
  "/snap",
  "/sys",
  "/tmp",
  "/usr",
  "/var",
  "/var/lib",
  "/var/snap",
]);

function problem(segments: readonly PathSegment[], text: string, fix: string): ProblemDraft {
  return { severity: "error", segments, text, fix };
}

const within = (path: string, dir: string): boolean => path === dir || path.startsWith(`${dir}/`);

export function storageRules(parts: SpecParts): ProblemDraft[] {
  const storage = parts.storage;
  if (!storage) return [];
  const out: ProblemDraft[] = [];
  const vips: ReadonlySet<string> = new Set(
    [parts.loadBalancer?.vip, parts.loadBalancer?.web.vip].filter((v) => v !== undefined),
  );
  const seen = new Map<string, number>();
  storage.sharedMounts.forEach((m, i) => {
    if (vips.has(m.server)) {
      out.push(
        problem(
          ["spec", "storage", "sharedMounts", i, "server"],
          `${m.server} is a VIP of this cluster`,
          "give the NFS server's own address, outside the cluster",
        ),
      );
    }
    const segments = ["spec", "storage", "sharedMounts", i, "mountPoint"];
    if (SYSTEM_DIRS.has(m.mountPoint) || m.mountPoint.startsWith("/proc/") || m.mountPoint.startsWith("/sys/")) {
      out.push(
        problem(
          segments,
          `${m.mountPoint} is a system directory: mounting over it breaks the node`,
          "use a directory of its own, e.g. mountPoint: /grdata",
        ),
      );
    }
    for (const [other, j] of seen) {
      if (within(m.mountPoint, other) || within(other, m.mountPoint)) {
        out.push(
          problem(
            segments,
            `${m.mountPoint} overlaps sharedMounts[${j}].mountPoint ${other}`,
            "give each shared mount a directory of its own, neither inside the other",
          ),
        );
      }
    }
    seen.set(m.mountPoint, i);
  });
  return [...out, ...nfsRules(parts, vips)];
}

function nfsRules(parts: SpecParts, vips: ReadonlySet<string>): ProblemDraft[] {
  const nfs = parts.storage?.nfs;
  if (!nfs) return [];
  const out: ProblemDraft[] = [];
  if (vips.has(nfs.server)) {
    out.push(
      problem(
        ["spec", "storage", "nfs", "server"],
        `${nfs.server} is a VIP of this cluster`,
        "give the NFS server's own address, outside the cluster",
      ),
    );
  }
  if (parts.distribution?.type === "kubeadm" && !parts.distribution.helm) {
    out.push(
      problem(
        ["spec", "storage", "nfs"],
        "the NFS CSI driver is installed with helm, and a kubeadm cluster has no helm of its own",
        "add helm: ~/bin/helm (a helm binary on this machine, uploaded to the first control plane) under spec.distribution",
      ),
    );
  }
  return out;
}
