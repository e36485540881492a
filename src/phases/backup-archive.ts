import { createHash } from "node:crypto";
import { basename } from "node:path";
import { z } from "zod";
import { readTarGz, writeTarGz, type TarEntry } from "./tar.js";

/**
 * hactl's backup archive: a gzipped tar with `manifest.json` first, then the datastore copy
 * (`datastore/<name>.tar.gz` from `microk8s dbctl backup`, or `etcd/snapshot.db` from `etcdctl snapshot
 * save`) and, for kubeadm, the PKI files under `pki/`. Every file's SHA-256 is in the manifest; the whole
 * archive's is in FILE.sha256 beside it. Pure: bytes in, bytes or findings out.
 */

export const BACKUP_FORMAT = "hactl-backup/1";
export const MANIFEST_NAME = "manifest.json";
/** Below this an archive cannot hold a real datastore copy: the check #4259-style empty backups fail. */
export const MIN_ARCHIVE_BYTES = 1024;
/** An etcd snapshot is a bbolt file of at least a few pages. */
export const MIN_SNAPSHOT_BYTES = 16 * 1024;

const sha256Hex = z.string().regex(/^[0-9a-f]{64}$/);
const fileRef = z.object({ file: z.string().min(1), sha256: sha256Hex, size: z.int().min(0) });

export const manifestSchema = z.object({
  format: z.literal(BACKUP_FORMAT),
  cluster: z.string().min(1),
  distribution: z.object({ type: z.enum(["microk8s", "kubeadm"]), version: z.string().min(1) }),
  members: z
    .array(z.object({ name: z.string(), address: z.string(), role: z.enum(["control-plane", "worker"]) }))
    .min(1),
  /** Node clock (UTC) right before and right after the datastore copy was made. */
  startedAt: z.iso.datetime(),
  takenAt: z.iso.datetime(),
  takenOn: z.string().min(1),
  datastore: z.discriminatedUnion("kind", [
    fileRef.extend({ kind: z.literal("microk8s-dbctl"), name: z.string().min(1), entries: z.int().min(1) }),
    fileRef.extend({ kind: z.literal("etcd-snapshot"), revision: z.int().min(0), totalKeys: z.int().min(1) }),
  ]),
  /** kubeadm: the certificates and keys restore needs, by their path on the control planes. */
  pki: z.array(fileRef.extend({ path: z.string().startsWith("/") })).default([]),
});

export type BackupManifest = z.output<typeof manifestSchema>;

export function sha256(data: Buffer): string {
  return createHash("sha256").update(data).digest("hex");
}

/** The FILE.sha256 line, in sha256sum's format so `sha256sum -c` checks it too. */
export function checksumLine(hex: string, archivePath: string): string {
  return `${hex}  ${basename(archivePath)}\n`;
}

/** The checksum a FILE.sha256 names, or undefined when it is not a sha256sum line. */
export function parseChecksumLine(text: string): string | undefined {
  return /^([0-9a-f]{64}) [ *]\S/.exec(text.trim())?.[1];
}

/** What a `microk8s dbctl backup` archive holds: one directory of N.key/N.data pairs numbered from 0. */
export interface DbctlDump {
  /** The directory name: dbctl restore finds the keys only when the file is named `<dir>.tar.gz`. */
  dir: string;
  entries: number;
}

/** Reads a dbctl archive; throws with the reason when it is not a complete, non-empty dump. */
export function inspectDbctlDump(archive: Buffer): DbctlDump {
  const entries = readTarGz(archive);
  const files = entries.filter((e) => e.type === "file");
  const dirs = new Set(files.map((f) => f.name.split("/")[0]));
  if (dirs.size !== 1 || files.some((f) => f.name.split("/").length !== 2)) {
    throw new Error(
      `expected one directory of N.key/N.data files, found ${files.length} files in ${dirs.size} directories`,
    );
  }
  const dir = [...dirs][0] as string;
  const names = new Set(files.map((f) => f.name.slice(dir.length + 1)));
  let count = 0;
  while (names.has(`${count}.key`)) {
    if (!names.has(`${count}.data`)) throw new Error(`${count}.key has no ${count}.data`);
    count++;
  }
  if (count === 0) throw new Error("the datastore dump holds no keys (an empty backup)");
  if (names.size !== count * 2)
    throw new Error(`${names.size - count * 2} files do not belong to the numbered key list`);
  return { dir, entries: count };
}

export interface BackupFile {
  readonly name: string;
  readonly data: Buffer;
}

/** The archive bytes: manifest first, then the files it lists. */
export function packBackup(manifest: BackupManifest, files: readonly BackupFile[]): Buffer {
  return writeTarGz([{ name: MANIFEST_NAME, data: Buffer.from(`${JSON.stringify(manifest, null, 2)}\n`) }, ...files]);
}

export interface OpenedBackup {
  manifest: BackupManifest;
  files: Map<string, Buffer>;
}

/**
 * Opens and checks an archive: readable, a valid manifest, every file it names present with its SHA-256,
 * a datastore copy that is not empty. Throws an Error whose message says what is wrong.
 */
export function openBackup(archive: Buffer): OpenedBackup {
  if (archive.length < MIN_ARCHIVE_BYTES)
    throw new Error(`the file is ${archive.length} bytes, too small to hold a backup (at least ${MIN_ARCHIVE_BYTES})`);
  let entries: TarEntry[];
  try {
    entries = readTarGz(archive);
  } catch (err) {
    throw new Error(`the archive is damaged: ${(err as Error).message}`);
  }
  const files = new Map(entries.filter((e) => e.type === "file").map((e) => [e.name, e.data]));
  const raw = files.get(MANIFEST_NAME);
  if (!raw) throw new Error(`the archive has no ${MANIFEST_NAME}: not a hactl backup`);
  let json: unknown;
  try {
    json = JSON.parse(raw.toString("utf8"));
  } catch {
    throw new Error(`${MANIFEST_NAME} is not valid JSON`);
  }
  const parsed = manifestSchema.safeParse(json);
  if (!parsed.success) {
    const first = parsed.error.issues[0];
    throw new Error(
      `${MANIFEST_NAME} is not a ${BACKUP_FORMAT} manifest (${first ? `${first.path.join(".")}: ${first.message}` : "invalid"})`,
    );
  }
  const manifest = parsed.data;
  for (const ref of [manifest.datastore, ...manifest.pki]) {
    const data = files.get(ref.file);
    if (!data) throw new Error(`${ref.file} is missing from the archive`);
    if (data.length !== ref.size || sha256(data) !== ref.sha256)
      throw new Error(`${ref.file} does not match its checksum in the manifest (damaged or altered)`);
  }
  const store = files.get(manifest.datastore.file) as Buffer;
  if (manifest.datastore.kind === "microk8s-dbctl") {
    let dump: DbctlDump;
    try {
      dump = inspectDbctlDump(store);
    } catch (err) {
      throw new Error(`${manifest.datastore.file}: ${(err as Error).message}`);
    }
    if (dump.dir !== manifest.datastore.name || dump.entries !== manifest.datastore.entries) {
      throw new Error(
        `${manifest.datastore.file} holds ${dump.entries} keys in ${dump.dir}/, the manifest says ${manifest.datastore.entries} in ${manifest.datastore.name}/`,
      );
    }
  } else if (store.length < MIN_SNAPSHOT_BYTES) {
    throw new Error(
      `${manifest.datastore.file} is ${store.length} bytes, too small for an etcd snapshot (at least ${MIN_SNAPSHOT_BYTES})`,
    );
  }
  return { manifest, files };
}

/** Default archive name: `<cluster>-<UTC time>.tar.gz`, e.g. prod-20260102T030405Z.tar.gz. */
export function defaultBackupName(cluster: string, at: Date): string {
  return `${cluster}-${at
    .toISOString()
    .replace(/[-:]/g, "")
    .replace(/\.\d+Z$/, "Z")}.tar.gz`;
}
