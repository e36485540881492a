/**
 * The workstation side of the offline bundle: fetching with `snap download` (on a machine that reaches
 * the snap store), writing the bundle (manifest.json, then the files, in an uncompressed tar; snaps are
 * compressed already) with FILE.sha256 beside it, and reading a bundle back with its checks.
 */
import { createHash } from "node:crypto";
import { createReadStream, createWriteStream } from "node:fs";
import { mkdtemp, open, readdir, readFile, rename, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { basename, join, resolve } from "node:path";
import { pipeline } from "node:stream/promises";
import { execa } from "execa";
import { HactlError } from "../core/errors.js";
import { writeFileAtomic } from "../core/local-file.js";
import type { ClusterSpec } from "../spec/schema.js";
import { readTar, tarHeader, tarPadding, TAR_END } from "../phases/tar.js";
import {
  bundleManifestSchema,
  checksumLine,
  MANIFEST_NAME,
  parseChecksumLine,
  type BundleFile,
  type BundleManifest,
} from "./manifest.js";

const DOWNLOAD_TIMEOUT_MS = 30 * 60_000;

export async function sha256File(path: string): Promise<string> {
  const hash = createHash("sha256");
  await pipeline(createReadStream(path), hash);
  return hash.digest("hex");
}

/** `snap download NAME [--channel=C] --target-directory=DIR` on this machine. */
export async function snapDownload(name: string, channel: string | undefined, dir: string): Promise<void> {
  const args = ["download", name, ...(channel ? [`--channel=${channel}`] : []), `--target-directory=${dir}`];
  const r = await execa("snap", args, { reject: false, timeout: DOWNLOAD_TIMEOUT_MS, stdin: "ignore" });
  if (r.failed || r.exitCode !== 0) {
    const why =
      "code" in r && r.code === "ENOENT"
        ? "snap is not installed on this machine"
        : `${r.stderr || r.stdout}`.trim() || `exit ${r.exitCode ?? "?"}`;
    throw new HactlError("COMMAND_FAILED", `snap ${args.join(" ")} failed: ${why}`, {
      remedy: "Run hactl bundle on a machine with snapd that reaches the snap store (snap download needs no root).",
    });
  }
}

/** Every *.snap and *.assert `snap download` left in dir, described for the manifest. */
export async function describeDownloads(dir: string): Promise<BundleFile[]> {
  const names = (await readdir(dir)).filter((n) => /\.(snap|assert)$/.test(n)).sort();
  return Promise.all(
    names.map(async (name) => ({
      name,
      kind: name.endsWith(".snap") ? ("snap" as const) : ("assert" as const),
      of: name.replace(/_[^_]*\.(snap|assert)$/, ""),
      size: (await stat(join(dir, name))).size,
      sha256: await sha256File(join(dir, name)),
    })),
  );
}

export async function withTempDir<T>(work: (dir: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), "hactl-bundle-"));
  try {
    return await work(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/**
 * Writes the bundle to `out` (through a temporary file renamed into place) and then `out`.sha256;
 * returns the bundle's size and sha256.
 */
export async function writeBundle(
  out: string,
  manifest: BundleManifest,
  dir: string,
): Promise<{ size: number; sha256: string }> {
  const tmp = `${out}.hactl-partial`;
  const mtime = Date.now();
  const file = createWriteStream(tmp, { mode: 0o644 });
  const hash = createHash("sha256");
  let size = 0;
  const put = (chunk: Buffer): Promise<void> => {
    hash.update(chunk);
    size += chunk.length;
    return new Promise((resolve, reject) => file.write(chunk, (err) => (err ? reject(err) : resolve())));
  };
  try {
    const text = Buffer.from(`${JSON.stringify(manifest, null, 2)}\n`);
    await put(Buffer.concat([tarHeader(MANIFEST_NAME, text.length, "0", mtime), text, tarPadding(text.length)]));
    for (const f of manifest.files) {
      await put(tarHeader(f.name, f.size, "0", mtime));
      for await (const chunk of createReadStream(join(dir, f.name))) await put(chunk as Buffer);
      await put(tarPadding(f.size));
    }
    await put(TAR_END);
    await new Promise<void>((resolve, reject) => file.end((err?: Error | null) => (err ? reject(err) : resolve())));
  } catch (err) {
    file.destroy();
    await rm(tmp, { force: true });
    throw err;
  }
  const sha256 = hash.digest("hex");
  await rename(tmp, out);
  await writeFileAtomic(`${out}.sha256`, checksumLine(sha256, basename(out)));
  return { size, sha256 };
}

/**
 * One member's content, read from the bundle file by walking its tar headers (small members only: the CNI
 * manifest); undefined when the bundle has no member of that name.
 */
export async function readBundleMember(path: string, name: string): Promise<Buffer | undefined> {
  const handle = await open(path, "r");
  try {
    const header = Buffer.alloc(512);
    for (let at = 0; ;) {
      const { bytesRead } = await handle.read(header, 0, 512, at);
      if (bytesRead < 512 || header.every((b) => b === 0)) return undefined;
      const entry = header.subarray(0, 100).toString("utf8").replace(/\0.*$/s, "");
      const size = parseInt(header.subarray(124, 136).toString("ascii").replace(/\0.*$/, "").trim() || "0", 8);
      if (entry === name) {
        const data = Buffer.alloc(size);
        await handle.read(data, 0, size, at + 512);
        return data;
      }
      at += 512 + Math.ceil(size / 512) * 512;
    }
  } finally {
    await handle.close();
  }
}

export interface LocalBundle {
  path: string;
  size: number;
  sha256: string;
  manifest: BundleManifest;
}

function bundleError(path: string, what: string): HactlError {
  return new HactlError("USAGE", `the bundle ${path} ${what}`, {
    remedy: `Make it again with hactl bundle -f cluster.yaml --out ${path} (keep ${basename(path)}.sha256 beside it).`,
  });
}

/** The offline bundle a run installs from (--bundle, else spec.airgap.bundle), opened and checked; undefined for none. */
export async function bundleFor(
  spec: ClusterSpec,
  opts: { bundle?: string | undefined },
): Promise<LocalBundle | undefined> {
  const path = opts.bundle ?? spec.spec.airgap?.bundle;
  return path === undefined ? undefined : openBundle(resolve(path));
}

/**
 * Reads a bundle's manifest and checks the whole file against FILE.sha256 (a damaged or partial copy is
 * refused before any node is touched).
 */
export async function openBundle(path: string): Promise<LocalBundle> {
  let size: number;
  try {
    size = (await stat(path)).size;
  } catch {
    throw bundleError(path, "does not exist");
  }
  const recorded = parseChecksumLine(await readFile(`${path}.sha256`, "utf8").catch(() => ""));
  if (!recorded) throw bundleError(path, `has no checksum file ${path}.sha256`);
  const actual = await sha256File(path);
  if (actual !== recorded)
    throw bundleError(path, `is damaged: its sha256 is ${actual}, ${basename(path)}.sha256 says ${recorded}`);
  const handle = await open(path, "r");
  let head: Buffer;
  try {
    const first = Buffer.alloc(512);
    await handle.read(first, 0, 512, 0);
    const length = parseInt(first.subarray(124, 136).toString("ascii").replace(/\0.*$/, "").trim() || "0", 8);
    const whole = Buffer.alloc(512 + Math.ceil(length / 512) * 512 + 1024);
    await handle.read(whole, 0, 512 + Math.ceil(length / 512) * 512, 0);
    head = whole;
  } finally {
    await handle.close();
  }
  const entry = readTar(head)[0];
  if (entry?.name !== MANIFEST_NAME)
    throw bundleError(path, `does not start with ${MANIFEST_NAME} (not a hactl bundle)`);
  const parsed = bundleManifestSchema.safeParse(JSON.parse(entry.data.toString("utf8")));
  if (!parsed.success)
    throw bundleError(
      path,
      `has an invalid manifest: ${parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ")}`,
    );
  return { path, size, sha256: actual, manifest: parsed.data };
}
