/**
 * `hactl bundle -f cluster.yaml --out FILE`: on a machine that reaches the snap store, everything an install
 * of that spec needs on nodes that reach nothing: MicroK8s' snap for the spec's minor and its base snap,
 * each with its assertions, in one file with a manifest and FILE.sha256.
 */
import { arch } from "node:os";
import { resolve } from "node:path";
import type { RunContext } from "../core/context.js";
import { HactlError } from "../core/errors.js";
import { BUNDLE_API_VERSION, debianArch, MICROK8S_BASE, type BundleManifest } from "../bundle/manifest.js";
import { describeDownloads, snapDownload, withTempDir, writeBundle } from "../bundle/local-files.js";
import { loadSpecFile } from "../spec/parse.js";

/** Node's process.arch → uname -m, so the workstation's architecture maps like a node's. */
const UNAME: Record<string, string> = {
  x64: "x86_64",
  arm64: "aarch64",
  arm: "armv7l",
  ppc64: "ppc64le",
  s390x: "s390x",
};

export async function runBundle(opts: { file: string; out: string }, ctx: RunContext): Promise<number> {
  const { spec } = await loadSpecFile(opts.file);
  const { type, version } = spec.spec.distribution;
  if (type !== "microk8s") {
    throw new HactlError("USAGE", "hactl bundle makes MicroK8s bundles only so far", {
      remedy: "For kubeadm, install from the nodes' package mirror; offline kubeadm bundles are not implemented yet.",
    });
  }
  const out = resolve(opts.out);
  const { reporter } = ctx;
  reporter.phase("Collect the offline bundle");
  return withTempDir(async (dir) => {
    const channel = `${version}/stable`;
    reporter.step("workstation", `snap download microk8s --channel=${channel}`, "start");
    await snapDownload("microk8s", channel, dir);
    reporter.step("workstation", `snap download ${MICROK8S_BASE}`, "start");
    await snapDownload(MICROK8S_BASE, undefined, dir);
    const files = await describeDownloads(dir);
    const manifest: BundleManifest = {
      apiVersion: BUNDLE_API_VERSION,
      kind: "Bundle",
      distribution: { type, version },
      platform: { os: "linux", arch: debianArch(UNAME[arch()] ?? arch()) },
      created: new Date().toISOString(),
      cluster: spec.metadata.name,
      files,
    };
    const written = await writeBundle(out, manifest, dir);
    reporter.step(
      "workstation",
      `${out}: ${written.size} bytes, ${files.length} files, sha256 ${written.sha256}`,
      "done",
    );
    reporter.result({
      path: out,
      size: written.size,
      sha256: written.sha256,
      files: files.map((f) => ({ name: f.name, size: f.size, sha256: f.sha256 })),
    });
    reporter.print(
      `\nBundle written to ${out} with ${out}.sha256.\nNext: hactl install -f cluster.yaml --bundle ${out} (or spec.airgap.bundle in cluster.yaml)`,
    );
    return 0;
  });
}
