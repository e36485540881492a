/**
 * `hactl bundle -f cluster.yaml --out FILE`: on a connected machine, everything an install of that spec
 * needs on nodes that reach nothing, in one file with a manifest and FILE.sha256. MicroK8s: its snap for
 * the spec's minor and its base snap, each with its assertions, and the container images of the addons
 * the spec turns on (one `ctr images export` tarball per addon, and one of the sandbox image). kubeadm:
 * the packages of the minor (apt-get download), the images of `kubeadm config images list` and of the
 * CNI manifest (ctr images export), and the CNI manifest itself.
 */
import { arch } from "node:os";
import { join, resolve } from "node:path";
import { mkdir } from "node:fs/promises";
import type { RunContext } from "../core/context.js";
import type { Reporter } from "../core/output.js";
import { HactlError } from "../core/errors.js";
import {
  BUNDLE_API_VERSION,
  debianArch,
  MICROK8S_BASE,
  type BundleFile,
  type BundleManifest,
} from "../bundle/manifest.js";
import { describeDownloads, snapDownload, withTempDir, writeBundle } from "../bundle/local-files.js";
import {
  CNI_IMAGES,
  collectCniManifest,
  describeKubeadmFiles,
  downloadPackages,
  kubeadmImages,
  KUBERNETES_IMAGES,
  manifestImages,
} from "../bundle/kubeadm-files.js";
import { describeImagesFile, exportImages } from "../bundle/container-images.js";
import { microk8sImageSets } from "../bundle/microk8s-addon-images.js";
import { CALICO_MANIFEST_URL } from "../distros/kubeadm.js";
import { byDistribution } from "../distros/registry.js";
import { loadSpecFile } from "../spec/parse.js";
import type { ClusterSpec } from "../spec/schema.js";

/** Node's process.arch → uname -m, so the workstation's architecture maps like a node's. */
const UNAME: Record<string, string> = {
  x64: "x86_64",
  arm64: "aarch64",
  arm: "armv7l",
  ppc64: "ppc64le",
  s390x: "s390x",
};

interface Collected {
  /** Where the collected files are. */
  dir: string;
  files: BundleFile[];
  release?: string;
}

type Collect = (spec: ClusterSpec, dir: string, platformArch: string, reporter: Reporter) => Promise<Collected>;

const collectMicrok8s: Collect = async (spec, dir, platformArch, reporter) => {
  const { version } = spec.spec.distribution;
  // known before anything is downloaded: a minor without a row fails at once
  const imageSets = microk8sImageSets(version, spec.spec.addons);
  const channel = `${version}/stable`;
  reporter.step("workstation", `snap download microk8s --channel=${channel}`, "start");
  await snapDownload("microk8s", channel, dir);
  reporter.step("workstation", `snap download ${MICROK8S_BASE}`, "start");
  await snapDownload(MICROK8S_BASE, undefined, dir);
  const images: BundleFile[] = [];
  for (const set of imageSets) {
    reporter.step(
      "workstation",
      `ctr images pull + export ${set.images.length} images of ${set.of} to ${set.file}`,
      "start",
    );
    await exportImages(dir, set.file, set.images, platformArch);
    images.push(await describeImagesFile(dir, set.file, set.of, set.images));
  }
  return { dir, files: [...(await describeDownloads(dir)), ...images] };
};

const collectKubeadm: Collect = async (spec, dir, platformArch, reporter) => {
  const dist = spec.spec.distribution;
  if (dist.type !== "kubeadm") throw new HactlError("INTERNAL", "collectKubeadm called for another distribution");
  const files = join(dir, "files");
  await mkdir(files);
  reporter.step("workstation", `apt-get download (Kubernetes ${dist.version} packages and containerd)`, "start");
  const release = await downloadPackages(files, dist.version);
  reporter.step("workstation", `kubeadm config images list --kubernetes-version ${release}`, "start");
  const kubeImages = await kubeadmImages(files, dir, release);
  const cniPath = dist.cni.manifest === undefined ? undefined : resolve(dist.cni.manifest);
  reporter.step("workstation", `CNI manifest from ${cniPath ?? CALICO_MANIFEST_URL}`, "start");
  const cniImages = manifestImages(await collectCniManifest(files, cniPath, CALICO_MANIFEST_URL));
  const images = new Map<string, string[]>([[KUBERNETES_IMAGES, kubeImages]]);
  if (cniImages.length > 0) images.set(CNI_IMAGES, cniImages);
  for (const [file, refs] of images) {
    reporter.step("workstation", `ctr images pull + export ${refs.length} images to ${file}`, "start");
    await exportImages(files, file, refs, platformArch);
  }
  return { dir: files, files: await describeKubeadmFiles(files, images), release };
};

export async function runBundle(opts: { file: string; out: string }, ctx: RunContext): Promise<number> {
  const { spec } = await loadSpecFile(opts.file);
  const { type, version } = spec.spec.distribution;
  const out = resolve(opts.out);
  const { reporter } = ctx;
  const platformArch = debianArch(UNAME[arch()] ?? arch());
  reporter.phase("Collect the offline bundle");
  return withTempDir(async (dir) => {
    const collected = await byDistribution(spec, { microk8s: collectMicrok8s, kubeadm: collectKubeadm })(
      spec,
      dir,
      platformArch,
      reporter,
    );
    const { files } = collected;
    const manifest: BundleManifest = {
      apiVersion: BUNDLE_API_VERSION,
      kind: "Bundle",
      distribution: { type, version, ...(collected.release ? { release: collected.release } : {}) },
      platform: { os: "linux", arch: platformArch },
      created: new Date().toISOString(),
      cluster: spec.metadata.name,
      files,
    };
    const written = await writeBundle(out, manifest, collected.dir);
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
