/**
 * Installing from an offline bundle on one node: the bundle goes up once over the node's SSH connection
 * (a cut upload continues where it stopped), is checked against its sha256 on the node and unpacked; then
 * snapd installs the snaps from those files after acknowledging their assertions. Nothing is fetched.
 */
import { basename } from "node:path";
import type { LocalBundle } from "../bundle/local-files.js";
import { MICROK8S_BASE, nodeBundleDir, snapFiles } from "../bundle/manifest.js";
import { commandLine } from "../core/action.js";
import { HactlError } from "../core/errors.js";
import type { RemoteHost } from "../core/host.js";
import { driverNamed } from "../distros/registry.js";
import { importFailures, microk8s } from "../distros/microk8s.js";

const LONG_MS = 15 * 60_000;

/** What --dry-run shows for the bundle part of a node's install. */
export function bundleDescribe(bundle: LocalBundle): string[] {
  return [uploadDescribe(bundle), ...snapsDescribe(bundle)];
}

/** The upload line of --dry-run: the bundle's name, size and where it goes on the node. */
export function uploadDescribe(bundle: LocalBundle): string {
  const mib = (bundle.size / 2 ** 20).toFixed(1);
  return `upload ${basename(bundle.path)} (${mib} MiB) to ${nodeBundleDir(bundle.sha256)}/ (a cut upload resumes), check its sha256 there, unpack`;
}

/**
 * The `snap ack` + `snap install ./FILE` lines of --dry-run. On a node that has the snap, snapd installs
 * the file as a refresh to its revision (services restarted, data kept, tracking channel unchanged).
 */
export function snapsDescribe(bundle: LocalBundle): string[] {
  return [MICROK8S_BASE, "microk8s"].map((of) => {
    const f = snapFiles(bundle.manifest, of);
    return `snap ack ${f?.assert.name ?? "?"}; snap install ./${f?.snap.name ?? "?"}${of === "microk8s" ? " --classic" : ""}`;
  });
}

/** Puts the bundle on the node, checked and unpacked; resolves with its directory there. */
export async function placeBundle(host: RemoteHost, bundle: LocalBundle, log: (line: string) => void): Promise<string> {
  const dir = nodeBundleDir(bundle.sha256);
  const file = `${dir}/bundle.tar`;
  await host.run({ argv: ["mkdir", "-p", "-m", "0700", dir] });
  const started = Date.now();
  const { resumedFrom } = await host.putFile(bundle.path, file);
  const seconds = ((Date.now() - started) / 1000).toFixed(1);
  log(
    `bundle upload: ${bundle.size - resumedFrom} of ${bundle.size} bytes sent in ${seconds} s${resumedFrom > 0 ? ` (resumed at byte ${resumedFrom})` : ""}`,
  );
  const sum = await host.run({ argv: ["sha256sum", file], timeoutMs: LONG_MS });
  const there = sum.stdout.trim().split(/\s+/)[0];
  if (there !== bundle.sha256) {
    await host.exec({ argv: ["rm", "-f", file] });
    throw new HactlError(
      "UPLOAD_FAILED",
      `the bundle on ${host.name} has sha256 ${there ?? "?"}, not ${bundle.sha256}: it was damaged on the way and has been deleted`,
      {
        node: host.name,
        retryable: true,
        remedy: "Run the command again: the bundle is sent anew.",
      },
    );
  }
  await host.run({ argv: ["tar", "-xf", file, "-C", dir], timeoutMs: LONG_MS });
  return dir;
}

/**
 * The distribution from the unpacked bundle, as its driver installs from files (MicroK8s: the base snap,
 * then MicroK8s, each `snap ack` + `snap install ./FILE`; kubeadm: `apt-get install --no-download` of the
 * packages, `ctr -n k8s.io images import` of the image tarballs).
 */
export async function installFromBundle(host: RemoteHost, bundle: LocalBundle, dir: string): Promise<void> {
  for (const command of driverNamed(bundle.manifest.distribution.type).installFromBundle(dir, bundle.manifest.files)) {
    const res = await host.exec(command);
    if (res.code === 0) continue;
    const tool = command.argv.find((a) => !a.includes("=") && a !== "env") ?? command.argv[0] ?? "";
    throw new HactlError(
      "COMMAND_FAILED",
      `${tool} failed on ${host.name} installing from the offline bundle (exit ${res.code})`,
      {
        node: host.name,
        details: `${res.stdout}\n${res.stderr}`.trim().split("\n").slice(-8).join("\n"),
        remedy:
          "Nothing was fetched. If a package is missing (apt names it above), make the bundle on a machine of the nodes' OS release, or install that package on the node from your OS's media; then run the same command again.",
      },
    );
  }
}

/** The bundle's images tarballs as paths in its directory on the node. */
function imageFiles(bundle: LocalBundle, dir: string): { path: string; of: string }[] {
  return bundle.manifest.files.filter((f) => f.kind === "images").map((f) => ({ path: `${dir}/${f.name}`, of: f.of }));
}

/** The --dry-run lines of importing a MicroK8s bundle's images (addons and sandbox) on a node. */
export function microk8sImagesDescribe(bundle: LocalBundle): string[] {
  return imageFiles(bundle, nodeBundleDir(bundle.sha256)).map((f) => `microk8s images import ${f.path} (${f.of})`);
}

/**
 * On a MicroK8s node that runs (after `microk8s status --wait-ready`) and has not joined yet: `microk8s
 * images import` of each images tarball of the unpacked bundle, so the addons enabled later find their
 * images in containerd instead of pulling them. A node that refuses a tarball fails the step.
 */
export async function importMicrok8sImages(host: RemoteHost, bundle: LocalBundle, dir: string): Promise<void> {
  for (const file of imageFiles(bundle, dir)) {
    const res = await host.exec(microk8s.importImages(file.path));
    // MicroK8s exits 0 when a node refuses the tarball: its output says so
    const failures = importFailures(`${res.stdout}\n${res.stderr}`);
    if (res.code === 0 && failures.length === 0) continue;
    throw new HactlError(
      "COMMAND_FAILED",
      `microk8s images import of ${basename(file.path)} (${file.of}) failed on ${host.name} (exit ${res.code})`,
      {
        node: host.name,
        details: failures.join("\n") || `${res.stdout}\n${res.stderr}`.trim().split("\n").slice(-8).join("\n"),
        remedy: `The tarball on the node may be damaged: delete ${dir} on ${host.name}, then run the same command again (the bundle is sent anew and imported before the node joins).`,
      },
    );
  }
}

/** The --dry-run lines of installing from the bundle: the upload, then each command its driver runs. */
export function filesDescribe(bundle: LocalBundle): string[] {
  const dir = nodeBundleDir(bundle.sha256);
  const commands = driverNamed(bundle.manifest.distribution.type).installFromBundle(dir, bundle.manifest.files);
  return [uploadDescribe(bundle), ...commands.map(commandLine)];
}
