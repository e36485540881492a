/**
 * The workstation side of a kubeadm offline bundle, with the tools an operator would use on a connected
 * machine of the nodes' OS and architecture: `apt-get download` of the packages (from the pkgs.k8s.io
 * repository of the minor, which that machine's apt must have configured), `dpkg-deb -x` of the downloaded
 * kubeadm to run its own `kubeadm config images list`, `curl` for the default Calico manifest, and
 * `ctr images pull` + `ctr images export` (container-images.ts) for the images.
 */
import { mkdir, readFile, readdir, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { HactlError } from "../core/errors.js";
import { KUBEADM_BUNDLE_PACKAGES, type BundleFile } from "./manifest.js";
import { sha256File } from "./local-files.js";
import { describeImagesFile, qualifiedImage, runTool as tool } from "./container-images.js";

export const KUBERNETES_IMAGES = "kubernetes-images.tar";
export const CNI_IMAGES = "cni-images.tar";
export const CNI_MANIFEST = "cni.yaml";

/** A downloaded Debian package file, from its name (`NAME_VERSION_ARCH.deb`, the epoch's colon as %3a). */
export interface DebName {
  package: string;
  version: string;
  arch: string;
}

/** Pure: `kubeadm_1.32.3-1.1_amd64.deb` → package, version, architecture; undefined for another name. */
export function parseDebName(file: string): DebName | undefined {
  const m = /^([a-z0-9][a-z0-9+.-]*)_([^_]+)_([a-z0-9]+)\.deb$/.exec(file);
  return m ? { package: m[1] ?? "", version: decodeURIComponent(m[2] ?? ""), arch: m[3] ?? "" } : undefined;
}

/** Pure: a Debian version of pkgs.k8s.io ("1.32.3-1.1") → the Kubernetes release ("v1.32.3"). */
export function kubernetesRelease(debVersion: string): string | undefined {
  const m = /^(?:\d+:)?(\d+\.\d+\.\d+)(?:-|$)/.exec(debVersion);
  return m ? `v${m[1] ?? ""}` : undefined;
}

/** Pure: every container image a manifest names (`image:` fields), qualified, once each, in order. */
export function manifestImages(yaml: string): string[] {
  const refs = [...yaml.matchAll(/^\s*(?:-\s+)?image:\s*["']?([^"'\s#]+)["']?/gm)].map((m) =>
    qualifiedImage(m[1] ?? ""),
  );
  return [...new Set(refs)];
}

/** Pure: the images `kubeadm config images list` printed, one per line. */
export function parseImageList(stdout: string): string[] {
  return stdout
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => /^[a-z0-9.-]+(:\d+)?\/\S+$/.test(l))
    .map(qualifiedImage);
}

/**
 * `apt-get download` of the kubeadm packages into dir; returns the Kubernetes release of the kubeadm
 * package, refused when it is not of the minor cluster.yaml asks for.
 */
export async function downloadPackages(dir: string, minor: string): Promise<string> {
  const repo = `pkgs.k8s.io/core:/stable:/v${minor}/deb/`;
  await tool(
    "apt-get",
    ["download", ...KUBEADM_BUNDLE_PACKAGES],
    `Run hactl bundle on a machine of the nodes' OS whose apt has the ${repo} repository (https://kubernetes.io/docs/setup/production-environment/tools/kubeadm/install-kubeadm/), after apt-get update.`,
    { cwd: dir },
  );
  const debs = (await readdir(dir)).map(parseDebName).filter((d): d is DebName => d !== undefined);
  const kube = debs.filter((d) => ["kubeadm", "kubelet", "kubectl"].includes(d.package));
  const wrong = kube.filter((d) => !kubernetesRelease(d.version)?.startsWith(`v${minor}.`));
  const release = kubernetesRelease(kube.find((d) => d.package === "kubeadm")?.version ?? "");
  if (wrong.length > 0 || release === undefined) {
    throw new HactlError(
      "USAGE",
      `apt-get download fetched ${wrong.map((d) => `${d.package} ${d.version}`).join(", ") || "no kubeadm"}, not Kubernetes ${minor}`,
      {
        remedy: `Point this machine's apt at ${repo} only (its /etc/apt/sources.list.d/kubernetes.list, or APT_CONFIG), run apt-get update, then hactl bundle again.`,
      },
    );
  }
  return release;
}

/** The images kubeadm needs for the release, from the downloaded kubeadm itself (`dpkg-deb -x`, `kubeadm config images list`). */
export async function kubeadmImages(dir: string, scratch: string, release: string): Promise<string[]> {
  const deb = (await readdir(dir)).find((n) => parseDebName(n)?.package === "kubeadm");
  if (!deb) throw new HactlError("INTERNAL", "no kubeadm package after apt-get download");
  const root = join(scratch, "kubeadm-root");
  await mkdir(root, { recursive: true });
  const remedy = "Run hactl bundle on a Debian or Ubuntu machine (dpkg-deb) of the nodes' architecture.";
  await tool("dpkg-deb", ["-x", join(dir, deb), root], remedy);
  const listed = await tool(
    join(root, "usr", "bin", "kubeadm"),
    ["config", "images", "list", "--kubernetes-version", release],
    remedy,
  );
  const images = parseImageList(listed);
  if (images.length === 0)
    throw new HactlError("COMMAND_FAILED", `kubeadm config images list printed no images`, { remedy });
  return images;
}

/** The CNI manifest into dir/cni.yaml: cluster.yaml's file, else the Calico manifest fetched with curl. */
export async function collectCniManifest(dir: string, localPath: string | undefined, url: string): Promise<string> {
  const target = join(dir, CNI_MANIFEST);
  if (localPath !== undefined) {
    await writeFile(target, await readFile(localPath));
  } else {
    await tool(
      "curl",
      ["-fsSL", "--retry", "3", "-o", target, url],
      `Run hactl bundle where ${url} can be reached, or set spec.distribution.cni.manifest to a local file.`,
    );
  }
  return readFile(target, "utf8");
}

/** Every file collected in dir, described for the manifest (images tarballs with their references). */
export async function describeKubeadmFiles(
  dir: string,
  images: ReadonlyMap<string, readonly string[]>,
): Promise<BundleFile[]> {
  const names = (await readdir(dir)).sort();
  const files: BundleFile[] = [];
  for (const name of names) {
    const refs = images.get(name);
    if (refs) {
      files.push(await describeImagesFile(dir, name, name === CNI_IMAGES ? "cni" : "kubernetes", refs));
      continue;
    }
    const deb = parseDebName(name);
    const described = deb
      ? { kind: "deb" as const, of: deb.package }
      : name === CNI_MANIFEST
        ? { kind: "cni-manifest" as const, of: "cni" }
        : undefined;
    if (!described) continue;
    const path = join(dir, name);
    files.push({ name, ...described, size: (await stat(path)).size, sha256: await sha256File(path) });
  }
  return files;
}
