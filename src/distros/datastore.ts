import type { Command } from "../core/command.js";
import { kubeadm } from "./kubeadm.js";

/**
 * Datastore copies on a control plane: `microk8s dbctl` (k8s-dqlite's migrator: one N.key/N.data pair
 * per key in NAME.tar.gz, written in the working directory) and `etcdctl snapshot save` for kubeadm.
 * Pure command builders and parsers of their output.
 */

/** Where a backup is made on the node: a fresh root-only directory, handed to the login user afterwards. */
export const REMOTE_BACKUP_PREFIX = "/tmp/hactl-backup.";
/** Where a restore stages its copy on the node (removed after the restore). */
export const REMOTE_RESTORE_DIR = "/var/lib/hactl/restore";

const NOW = "date -u +%Y-%m-%dT%H:%M:%S.%3NZ";
/** Lets an unprivileged login user read (and download over SFTP) what root made; nothing when logged in as root. */
const HAND_OVER = 'if [ -n "${SUDO_USER:-}" ]; then chown -R "$SUDO_USER" "$d"; fi';

/**
 * `microk8s dbctl backup -o NAME` in a fresh directory. stdout: `dir <path>`, `start <time>`, dbctl's own
 * lines, `end <time>`; exit code dbctl's (10: apiserver not running or HA off).
 */
export function dbctlBackup(name: string): Command {
  const script = [
    `d=$(mktemp -d ${REMOTE_BACKUP_PREFIX}XXXXXX) || exit 1`,
    'echo "dir $d"',
    'cd "$d" || exit 1',
    `echo "start $(${NOW})"`,
    'microk8s dbctl backup -o "$1"; rc=$?',
    `echo "end $(${NOW})"`,
    HAND_OVER,
    "exit $rc",
  ].join("\n");
  return { argv: ["sh", "-c", script, "hactl-backup", name], sudo: true, timeoutMs: 15 * 60_000 };
}

/**
 * `etcdctl snapshot save` with kubeadm's etcd client certificates, then the PKI files a restore needs copied
 * beside it. stdout: `dir <path>`, `start <time>`, etcdctl's lines, `end <time>`, `pki <path>` per copied file.
 */
export function etcdSnapshotSave(pkiFiles: readonly string[]): Command {
  const etcdctl = kubeadm
    .etcdctl("snapshot", "save", "$d/snapshot.db")
    .argv.map((a) => (a === "$d/snapshot.db" ? '"$d/snapshot.db"' : a.startsWith("--command-timeout=") ? "--command-timeout=600s" : a))
    .join(" ");
  const script = [
    `d=$(mktemp -d ${REMOTE_BACKUP_PREFIX}XXXXXX) || exit 1`,
    'echo "dir $d"',
    `echo "start $(${NOW})"`,
    `${etcdctl}; rc=$?`,
    `echo "end $(${NOW})"`,
    'mkdir -p "$d/pki"',
    'n=0; for f in "$@"; do if [ -f "$f" ]; then n=$((n+1)); cp "$f" "$d/pki/$n"; echo "pki $f"; fi; done',
    HAND_OVER,
    "exit $rc",
  ].join("\n");
  return { argv: ["sh", "-c", script, "hactl-backup", ...pkiFiles], sudo: true, timeoutMs: 15 * 60_000 };
}

/** `etcdctl snapshot status -w json` of a saved snapshot: hash, revision, key count, size. */
export function etcdSnapshotStatus(path: string): Command {
  return { ...kubeadm.etcdctl("snapshot", "status", path, "-w", "json"), timeoutMs: 120_000 };
}

/** Removes a backup working directory (only one hactl made). */
export function removeBackupDir(dir: string): Command {
  return { argv: ["sh", "-c", 'case "$1" in /tmp/hactl-backup.*) rm -rf -- "$1";; esac', "hactl-cleanup", dir], sudo: true, timeoutMs: 60_000 };
}

export interface BackupRun {
  dir: string | undefined;
  startedAt: string | undefined;
  endedAt: string | undefined;
  /** The tool's own output lines (without hactl's markers). */
  output: string[];
  pki: string[];
}

export function parseBackupRun(stdout: string): BackupRun {
  const run: BackupRun = { dir: undefined, startedAt: undefined, endedAt: undefined, output: [], pki: [] };
  for (const line of stdout.split("\n")) {
    const [word, ...rest] = line.split(" ");
    const value = rest.join(" ");
    if (word === "dir" && run.dir === undefined && value.startsWith(REMOTE_BACKUP_PREFIX)) run.dir = value;
    else if (word === "start" && run.startedAt === undefined) run.startedAt = value;
    else if (word === "end" && run.endedAt === undefined) run.endedAt = value;
    else if (word === "pki") run.pki.push(value);
    else if (line.trim() !== "") run.output.push(line);
  }
  return run;
}

/** The archive dbctl reports (`The backup is: NAME.tar.gz`), or undefined. */
export function dbctlArchiveName(lines: readonly string[]): string | undefined {
  for (const line of lines) {
    const m = /^The backup is: (.+)$/.exec(line.trim());
    if (m) return m[1];
  }
  return undefined;
}

/** `microk8s dbctl restore NAME.tar.gz` in the staging directory (dbctl finds the keys by the file's name). */
export function dbctlRestore(fileName: string): Command {
  return { argv: ["sh", "-c", 'cd "$1" && exec microk8s dbctl restore "$2"', "hactl-restore", REMOTE_RESTORE_DIR, fileName], sudo: true, timeoutMs: 30 * 60_000 };
}

export interface DbctlRestoreResult {
  /** Keys written, from the migrator's `Completed database restore` line. */
  entries: number | undefined;
  /** Keys the migrator logged as failed. */
  failed: string[];
}

/** The migrator's log (logrus lines on stderr) after a restore. */
export function parseDbctlRestore(stderr: string): DbctlRestoreResult {
  let entries: number | undefined;
  const failed: string[] = [];
  for (const line of stderr.split("\n")) {
    if (line.includes('msg="Completed database restore"')) {
      const m = /\bentries=(\d+)/.exec(line);
      if (m) entries = Number(m[1]);
    } else if (/\blevel=(error|fatal)\b/.test(line)) {
      failed.push(/\bkey=("[^"]*"|\S+)/.exec(line)?.[1] ?? line.trim());
    }
  }
  return { entries, failed };
}

export interface SnapshotStatus {
  revision: number;
  totalKey: number;
  totalSize: number;
}

/** `etcdctl snapshot status -w json`: {"hash":..,"revision":..,"totalKey":..,"totalSize":..}. */
export function parseSnapshotStatus(stdout: string): SnapshotStatus {
  const o = JSON.parse(stdout) as Partial<Record<keyof SnapshotStatus, unknown>>;
  const num = (v: unknown): number => (typeof v === "number" && Number.isFinite(v) ? v : NaN);
  const s = { revision: num(o.revision), totalKey: num(o.totalKey), totalSize: num(o.totalSize) };
  if (Object.values(s).some(Number.isNaN)) throw new Error("etcdctl snapshot status printed no revision/totalKey/totalSize");
  return s;
}
