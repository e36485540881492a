// Container images as `kubeadm config images list`, `ctr images pull/export` (on the connected machine),
// `ctr -n k8s.io images import` and `microk8s images import` (on a node) use them. An exported tarball is a real tar with an OCI
// index.json naming each image (annotation io.containerd.image.name) and a blob of filler per image; import
// reads it with tar, so a truncated or corrupt file fails as ctr does. A node's imported images are listed
// in its kit state; kubeadm init and join, and `microk8s enable ADDON`, record a registry pull
// (store-fetches.log) for each image they need that is not there, as the real ones pull it.
import { spawnSync } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { storeFetch } from "./snap-files.mjs";
import { STATE_DIR, fail, isRoot, out, parseArgs } from "./util.mjs";

const IMAGE_BYTES = 2 ** 20;

/** The images kubeadm needs for a release, as `kubeadm config images list --kubernetes-version` prints them. @param {string} release */
export function kubeadmImages(release) {
  return [
    `registry.k8s.io/kube-apiserver:${release}`,
    `registry.k8s.io/kube-controller-manager:${release}`,
    `registry.k8s.io/kube-scheduler:${release}`,
    `registry.k8s.io/kube-proxy:${release}`,
    "registry.k8s.io/coredns/coredns:v1.11.3",
    "registry.k8s.io/pause:3.10",
    "registry.k8s.io/etcd:3.5.16-0",
  ];
}

/** Where a machine's containerd keeps a namespace's image list: the node's kit state, or the workstation's temp dir. @param {string} ns @param {boolean} onNode */
function storeFile(ns, onNode) {
  const dir = onNode
    ? path.join(STATE_DIR, "containerd")
    : path.join(os.tmpdir(), `hactl-kit-ctr-${process.getuid?.() ?? 0}`);
  fs.mkdirSync(dir, { recursive: true });
  return path.join(dir, `${ns}.images`);
}

/** @param {string} ns @param {boolean} onNode */
export function listImages(ns, onNode) {
  const f = storeFile(ns, onNode);
  return fs.existsSync(f) ? fs.readFileSync(f, "utf8").split("\n").filter(Boolean) : [];
}

/** @param {string} ns @param {boolean} onNode @param {string[]} refs */
export function addImages(ns, onNode, refs) {
  fs.writeFileSync(storeFile(ns, onNode), `${[...new Set([...listImages(ns, onNode), ...refs])].sort().join("\n")}\n`);
}

/** kubeadm init or join, or microk8s enable, on a node: every image it needs that containerd's k8s.io namespace lacks is pulled from its registry. @param {string[]} needed */
export function pullMissing(needed) {
  const have = new Set(listImages("k8s.io", true));
  for (const ref of needed) if (!have.has(ref)) storeFetch(`pull ${ref}`);
  addImages("k8s.io", true, needed);
}

/** A fully qualified reference (registry host and tag), as ctr requires. @param {string} ref */
const qualified = (ref) => /^[^/]*[.:][^/]*\/.+:[^/]+$/.test(ref) || /^localhost\/.+:[^/]+$/.test(ref);

/** `ctr [-n NS] images pull|export|import|ls ...` @param {string[]} argv @param {boolean} onNode */
export function ctrMain(argv, onNode) {
  const a = parseArgs(argv, ["n", "namespace", "platform"]);
  const ns = a.get("n", "namespace") ?? "default";
  const [group, cmd, ...rest] = a.positional;
  if (group !== "images" && group !== "image" && group !== "i") fail(1, `ctr: no such command: ${group ?? ""}`);
  if (!isRoot())
    fail(
      1,
      'ctr: failed to dial "/run/containerd/containerd.sock": connection error: desc = "transport: error while dialing: dial unix /run/containerd/containerd.sock: connect: permission denied"',
    );
  if (cmd === "ls" || cmd === "list") {
    const refs = listImages(ns, onNode);
    out(a.has("q", "quiet") ? refs.join("\n") : ["REF", ...refs].join("\n"));
    return 0;
  }
  if (cmd === "pull") {
    if (onNode)
      fail(
        1,
        `ctr: failed to resolve reference "${rest[0] ?? ""}": failed to do request: dial tcp: lookup registry: no route to host`,
      );
    const ref = rest[0] ?? "";
    if (!qualified(ref)) fail(1, `ctr: failed to resolve reference "${ref}": object required`);
    addImages(ns, onNode, [ref]);
    out(
      `${ref}: resolved\nelapsed: 0.1 s\ttotal: 1.0 Mi (10.0 MiB/s)\nunpacking ${a.get("platform") ?? "linux/amd64"} sha256:${digest(ref)}...\ndone: 5.2ms`,
    );
    return 0;
  }
  if (cmd === "export") {
    const [file, ...refs] = rest;
    if (!file || refs.length === 0) fail(1, "ctr: must specify output file and at least one image");
    const have = new Set(listImages(ns, onNode));
    for (const ref of refs) if (!have.has(ref)) fail(1, `ctr: image "${ref}": not found`);
    writeArchive(file, refs);
    return 0;
  }
  if (cmd === "import") {
    const file = rest[0];
    if (!file) fail(1, "ctr: must specify an archive to import");
    if (!fs.existsSync(file)) fail(1, `ctr: open ${file}: no such file or directory`);
    const read = archiveImages(file);
    if ("error" in read) fail(1, `ctr: ${read.error}`);
    const refs = read.refs;
    for (const ref of refs) out(`unpacking ${ref} (sha256:${digest(ref)})...done`);
    addImages(ns, onNode, refs);
    return 0;
  }
  fail(1, `ctr: no such command: images ${cmd ?? ""}`);
}

/** @param {string} ref */
const digest = (ref) => createHash("sha256").update(ref).digest("hex");

/** @param {string} file @param {string[]} refs */
function writeArchive(file, refs) {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "hactl-kit-export-"));
  try {
    fs.mkdirSync(path.join(tmp, "blobs", "sha256"), { recursive: true });
    fs.writeFileSync(path.join(tmp, "oci-layout"), '{"imageLayoutVersion":"1.0.0"}');
    const manifests = refs.map((ref) => {
      const blob = randomBytes(IMAGE_BYTES);
      const d = createHash("sha256").update(blob).digest("hex");
      fs.writeFileSync(path.join(tmp, "blobs", "sha256", d), blob);
      return {
        mediaType: "application/vnd.oci.image.manifest.v1+json",
        digest: `sha256:${d}`,
        size: blob.length,
        annotations: { "io.containerd.image.name": ref },
      };
    });
    fs.writeFileSync(path.join(tmp, "index.json"), JSON.stringify({ schemaVersion: 2, manifests }));
    const r = spawnSync("tar", ["-cf", path.resolve(file), "-C", tmp, "oci-layout", "index.json", "blobs"], {
      encoding: "utf8",
    });
    if (r.status !== 0) fail(1, `ctr: ${r.stderr.trim()}`);
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

/**
 * The image names of an exported archive, or why it cannot be imported: a truncated or corrupt archive
 * gives the error ctr prints for it.
 * @param {string} file @returns {{ refs: string[] } | { error: string }}
 */
export function archiveImages(file) {
  const listing = spawnSync("tar", ["-tf", file], { encoding: "utf8" });
  if (listing.status !== 0) return { error: "unexpected EOF" };
  const index = spawnSync("tar", ["-xOf", file, "index.json"], { encoding: "utf8" });
  let parsed;
  try {
    parsed = JSON.parse(index.stdout);
  } catch {
    return { error: "failed to read index.json: unexpected end of JSON input" };
  }
  const names = listing.stdout.split("\n");
  /** @type {string[]} */
  const refs = [];
  for (const m of parsed.manifests ?? []) {
    if (!names.includes(`blobs/sha256/${String(m.digest).replace(/^sha256:/, "")}`))
      return { error: `content digest ${m.digest}: not found` };
    const ref = m.annotations?.["io.containerd.image.name"];
    if (ref) refs.push(ref);
  }
  return { refs };
}
