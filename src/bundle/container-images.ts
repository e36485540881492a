/**
 * Container images for an offline bundle, fetched on the connected machine as an operator would by hand:
 * `ctr images pull` of each image for the nodes' platform into a namespace of its own, then one
 * `ctr images export` into a tarball (containerd's socket, so root). Shared by every distribution's bundle.
 */
import { stat } from "node:fs/promises";
import { join } from "node:path";
import { execa } from "execa";
import { HactlError } from "../core/errors.js";
import type { BundleFile } from "./manifest.js";
import { sha256File } from "./local-files.js";

const TOOL_TIMEOUT_MS = 30 * 60_000;
/** The containerd namespace the images are pulled into on the workstation (kept apart from its own). */
export const CTR_NAMESPACE = "hactl-bundle";

/**
 * Runs one tool on this machine; its stdout, or a HactlError with the tool's last lines and `remedy`
 * (a tool that is not installed says so).
 */
export async function runTool(
  command: string,
  args: string[],
  remedy: string,
  opts: { cwd?: string } = {},
): Promise<string> {
  const r = await execa(command, args, {
    reject: false,
    timeout: TOOL_TIMEOUT_MS,
    stdin: "ignore",
    ...(opts.cwd ? { cwd: opts.cwd } : {}),
  });
  if (r.failed || r.exitCode !== 0) {
    const why =
      "code" in r && r.code === "ENOENT"
        ? `${command} is not installed on this machine`
        : `${r.stderr || r.stdout}`.trim().split("\n").slice(-4).join("\n") || `exit ${r.exitCode ?? "?"}`;
    throw new HactlError("COMMAND_FAILED", `${command} ${args.join(" ")} failed: ${why}`, { remedy });
  }
  return r.stdout;
}

/**
 * Pure: an image reference as containerd names it: a registry host and a tag always
 * (`calico/cni:v3.27.3` → `docker.io/calico/cni:v3.27.3`, `busybox` → `docker.io/library/busybox:latest`).
 */
export function qualifiedImage(ref: string): string {
  const [first = "", ...rest] = ref.split("/");
  const hasHost = rest.length > 0 && (first.includes(".") || first.includes(":") || first === "localhost");
  const path = hasHost ? rest.join("/") : rest.length > 0 ? ref : `library/${ref}`;
  const named = `${hasHost ? first : "docker.io"}/${path}`;
  const last = named.split("/").pop() ?? "";
  return last.includes(":") || last.includes("@") ? named : `${named}:latest`;
}

/** `ctr images pull` of each image for the nodes' platform, then one `ctr images export` of them into dir/file. */
export async function exportImages(dir: string, file: string, images: readonly string[], arch: string): Promise<void> {
  const platform = `linux/${arch}`;
  const remedy =
    "Run hactl bundle as root on a machine with containerd running (ctr talks to its socket) that reaches the registries.";
  for (const image of images)
    await runTool("ctr", ["-n", CTR_NAMESPACE, "images", "pull", "--platform", platform, image], remedy);
  await runTool(
    "ctr",
    ["-n", CTR_NAMESPACE, "images", "export", "--platform", platform, join(dir, file), ...images],
    remedy,
  );
}

/** An exported images tarball in dir, described for the manifest: kind `images`, what it belongs to, its references. */
export async function describeImagesFile(
  dir: string,
  name: string,
  of: string,
  images: readonly string[],
): Promise<BundleFile> {
  const path = join(dir, name);
  return {
    name,
    kind: "images",
    of,
    size: (await stat(path)).size,
    sha256: await sha256File(path),
    images: [...images],
  };
}
