import type { Command } from "../core/command.js";
import { kubeadm } from "./kubeadm.js";
import { z } from "zod";
import { parseRemote, unexpectedOutput } from "./remote-output.js";

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
    .argv.map((a) =>
      a === "$d/snapshot.db" ? '"$d/snapshot.db"' : a.startsWith("--command-timeout=") ? "--command-timeout=600s" : a,
    )
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
  return {
    argv: ["sh", "-c", 'case "$1" in /tmp/hactl-backup.*) rm -rf -- "$1";; esac', "hactl-cleanup", dir],
    sudo: true,
    timeoutMs: 60_000,
  };
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
  return {
    argv: ["sh", "-c", 'cd "$1" && exec microk8s dbctl restore "$2"', "hactl-restore", REMOTE_RESTORE_DIR, fileName],
    sudo: true,
    timeoutMs: 30 * 60_000,
  };
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
  const o = parseRemote("etcdctl snapshot status -w json", stdout, z.record(z.string(), z.unknown())) as Partial<
    Record<keyof SnapshotStatus, unknown>
  >;
  const num = (v: unknown): number => (typeof v === "number" && Number.isFinite(v) ? v : NaN);
  const s = { revision: num(o.revision), totalKey: num(o.totalKey), totalSize: num(o.totalSize) };
  if (Object.values(s).some(Number.isNaN))
    throw unexpectedOutput("etcdctl snapshot status -w json", "numbers in revision, totalKey and totalSize");
  return s;
}

/** kubeadm restore: where the moved static-pod manifests and the staged snapshot wait on each control plane. */
export const KUBEADM_RESTORE_DIR = "/etc/kubernetes/hactl-restore";
export const KUBEADM_SNAPSHOT = `${KUBEADM_RESTORE_DIR}/snapshot.db`;
const MANIFESTS = "/etc/kubernetes/manifests";

/** Waits (up to N seconds) until nothing listens on the TCP port, or until something does. */
const waitPort = (port: number, listening: boolean, seconds: number): string =>
  `i=0; while ${listening ? "!" : ""} ss -Hltn 'sport = :${port}' | grep -q .; do i=$((i+1)); if [ $i -gt ${seconds} ]; then echo "port ${port} still ${listening ? "closed" : "open"} after ${seconds}s" >&2; exit 1; fi; sleep 1; done`;

/**
 * Takes the API server and etcd off the node the way the kubelet understands: their static-pod manifests
 * move to the restore directory, then the ports close. Repeatable: manifests already moved stay moved.
 */
export function kubeadmStopControlPlane(): Command {
  const script = [
    "set -e",
    `mkdir -p -m 700 ${KUBEADM_RESTORE_DIR}`,
    `for c in kube-apiserver etcd; do if [ -f ${MANIFESTS}/$c.yaml ]; then mv ${MANIFESTS}/$c.yaml ${KUBEADM_RESTORE_DIR}/$c.yaml; fi; done`,
    waitPort(6443, false, 120),
    waitPort(2379, false, 120),
  ].join("\n");
  return {
    argv: ["sh", "-c", script],
    sudo: true,
    timeoutMs: 5 * 60_000,
    summary: `kube-apiserver.yaml and etcd.yaml → ${KUBEADM_RESTORE_DIR}/, wait until ports 6443 and 2379 are closed`,
  };
}

export interface EtcdRestoreMember {
  /** This member's etcd name (kubeadm: the node's hostname). */
  name: string;
  peerUrl: string;
  /** `name=peerURL,...` of every member. */
  initialCluster: string;
  /** The same on every member of one restore: the snapshot's checksum. */
  token: string;
}

/**
 * `etcdctl snapshot restore` into a fresh directory beside the data, then swapped in for `member/` (the old
 * one kept as member.hactl-old). A marker named after the token makes a repeated run skip a node that
 * already has this restore (it may have served writes since); the last step of the restore removes it.
 */
export function kubeadmRestoreEtcd(m: EtcdRestoreMember): Command {
  const script = [
    "set -e",
    'marker="/var/lib/etcd/.hactl-restored-$5"',
    'if [ -f "$marker" ]; then echo "already restored"; exit 0; fi',
    "rm -rf /var/lib/etcd/hactl-restore",
    'ETCDCTL_API=3 etcdctl snapshot restore "$1" --name "$2" --initial-cluster "$3" --initial-advertise-peer-urls "$4" --initial-cluster-token "$5" --data-dir /var/lib/etcd/hactl-restore',
    "rm -rf /var/lib/etcd/member.hactl-old",
    "if [ -d /var/lib/etcd/member ]; then mv /var/lib/etcd/member /var/lib/etcd/member.hactl-old; fi",
    "mv /var/lib/etcd/hactl-restore/member /var/lib/etcd/member",
    "rm -rf /var/lib/etcd/hactl-restore",
    'touch "$marker"',
    'echo "restored"',
  ].join("\n");
  return {
    argv: ["sh", "-c", script, "hactl-etcd-restore", KUBEADM_SNAPSHOT, m.name, m.initialCluster, m.peerUrl, m.token],
    sudo: true,
    timeoutMs: 15 * 60_000,
    summary:
      "etcdctl snapshot restore $1 --name $2 --initial-cluster $3 --initial-advertise-peer-urls $4 --initial-cluster-token $5 into a new directory, swapped in for member/",
  };
}

/** Puts one moved static-pod manifest back (the kubelet starts it) and waits for its port. */
export function kubeadmStartComponent(component: "etcd" | "kube-apiserver"): Command {
  const port = component === "etcd" ? 2379 : 6443;
  const script = [
    "set -e",
    `if [ -f ${KUBEADM_RESTORE_DIR}/${component}.yaml ]; then mv ${KUBEADM_RESTORE_DIR}/${component}.yaml ${MANIFESTS}/${component}.yaml; fi`,
    waitPort(port, true, 180),
  ].join("\n");
  return {
    argv: ["sh", "-c", script],
    sudo: true,
    timeoutMs: 5 * 60_000,
    summary: `${component}.yaml → ${MANIFESTS}/, wait for port ${port}`,
  };
}

/** After a finished restore: the staged snapshot, the marker and the old data go. */
export function kubeadmRestoreCleanup(): Command {
  return {
    argv: [
      "sh",
      "-c",
      `rm -rf ${KUBEADM_SNAPSHOT} /var/lib/etcd/member.hactl-old /var/lib/etcd/.hactl-restored-*; rmdir ${KUBEADM_RESTORE_DIR} 2>/dev/null; true`,
    ],
    sudo: true,
    timeoutMs: 60_000,
  };
}
