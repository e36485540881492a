import { readFile, stat } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import type { RunContext } from "../core/context.js";
import { HactlError } from "../core/errors.js";
import { need, type RemoteHost } from "../core/host.js";
import {
  dbctlArchiveName,
  dbctlBackup,
  etcdSnapshotSave,
  etcdSnapshotStatus,
  parseBackupRun,
  parseSnapshotStatus,
  removeBackupDir,
  type BackupRun,
} from "../distros/datastore.js";
import { gatherKubeadmState } from "../gather/kubeadm-state.js";
import { gatherMicrok8sState } from "../gather/microk8s-state.js";
import {
  checksumLine,
  defaultBackupName,
  inspectDbctlDump,
  openBackup,
  packBackup,
  sha256,
  type BackupFile,
  type BackupManifest,
} from "../phases/backup-archive.js";
import { KUBEADM_PKI_FILES, buildManifest, copyTooSmall, microk8sBackupRunner } from "../phases/backup-plan.js";
import { loadSpecFile } from "../spec/parse.js";
import type { ClusterSpec } from "../spec/schema.js";
import { writeFileAtomic } from "../core/local-file.js";
import { acquireClusterLock } from "./lock.js";
import { lockNode, openSession, type Session } from "./session.js";
import { byDistribution } from "../distros/registry.js";

export interface BackupOptions {
  file: string;
  out?: string;
}

export interface BackupResult {
  /** Absolute path of the archive on the workstation (FILE.sha256 is beside it). */
  path: string;
  size: number;
  sha256: string;
  manifest: BackupManifest;
}

/** `hactl backup`: one verified datastore copy on the workstation, under the cluster lock. */
export async function runBackup(opts: BackupOptions, ctx: RunContext): Promise<number> {
  const { spec } = await loadSpecFile(opts.file);
  // A backup is most wanted when something is already wrong: nodes that do not answer are named, not fatal.
  const session = await openSession(spec, spec.spec.nodes, ctx, { tolerateUnreachable: true });
  for (const e of session.unreachable)
    ctx.reporter.warn(`${e.node ?? "?"} is not reachable; the backup is taken without it`);
  try {
    const lock = await acquireClusterLock(need(session.hosts, lockNode(spec, session)), "backup", ctx.reporter);
    let result: BackupResult;
    try {
      result = await takeBackup(ctx, session, spec, { specFile: opts.file, ...(opts.out ? { out: opts.out } : {}) });
    } finally {
      await lock.release();
    }
    ctx.reporter.result({
      path: result.path,
      size: result.size,
      sha256: result.sha256,
      cluster: result.manifest.cluster,
      takenAt: result.manifest.takenAt,
      takenOn: result.manifest.takenOn,
    });
    ctx.reporter.print(
      [
        "",
        `Backup written to ${result.path} (mode 0600; it holds the cluster's secrets)`,
        `  size     ${result.size} bytes`,
        `  sha256   ${result.sha256} (also in ${result.path}.sha256)`,
        `  datastore ${describeDatastore(result.manifest)} from ${result.manifest.takenOn} at ${result.manifest.takenAt}`,
        `Restore with: hactl restore ${result.path} -f ${opts.file}`,
      ].join("\n"),
    );
    return 0;
  } finally {
    await session.close();
  }
}

function describeDatastore(m: BackupManifest): string {
  return m.datastore.kind === "microk8s-dbctl"
    ? `${m.datastore.entries} keys (microk8s dbctl)`
    : `${m.datastore.totalKeys} keys at revision ${m.datastore.revision} (etcd snapshot) + ${m.pki.length} PKI files`;
}

/**
 * Takes a backup of the cluster over an open session and writes it to the workstation: the datastore copy
 * made on a healthy control plane, downloaded over SFTP, checked (readable, not empty, at least one key
 * per node), packed with its manifest, written atomically with mode 0600, read back and checked again,
 * then FILE.sha256 beside it. The remote copy is always removed. The caller holds the cluster lock
 * (`hactl upgrade` calls this before it changes anything). Throws a HactlError when no usable backup
 * could be made; never returns for an empty or damaged one.
 */
export async function takeBackup(
  ctx: RunContext,
  session: Session,
  spec: ClusterSpec,
  opts: { specFile: string; out?: string },
): Promise<BackupResult> {
  const made = await byDistribution(spec, { microk8s: microk8sCopy, kubeadm: kubeadmCopy })(ctx, session, spec);
  const path = resolve(
    opts.out ??
      join(
        dirname(resolve(opts.specFile)),
        "backups",
        defaultBackupName(spec.metadata.name, new Date(made.manifest.takenAt)),
      ),
  );
  ctx.reporter.phase("Write the backup");
  await writeFileAtomic(path, packBackup(made.manifest, made.files), { mode: 0o600, createDir: true });
  const written = await readFile(path);
  try {
    openBackup(written);
  } catch (err) {
    throw new HactlError(
      "COMMAND_FAILED",
      `the backup written to ${path} does not read back: ${(err as Error).message}`,
      {
        remedy: "Check the disk (free space, errors) and run hactl backup again.",
      },
    );
  }
  const digest = sha256(written);
  await writeFileAtomic(`${path}.sha256`, checksumLine(digest, path), { mode: 0o600 });
  const size = (await stat(path)).size;
  ctx.reporter.step("workstation", `${path}: ${size} bytes, checked`, "done");
  return { path, size, sha256: digest, manifest: made.manifest };
}

interface Copy {
  manifest: BackupManifest;
  files: BackupFile[];
}

/** Runs the copy command, downloads what it made, and always removes the remote directory. */
async function onNode<T>(
  host: RemoteHost,
  command: Parameters<RemoteHost["exec"]>[0],
  signal: AbortSignal,
  use: (run: BackupRun, code: number, stderr: string) => Promise<T>,
): Promise<T> {
  const res = await host.exec(command, { signal });
  const run = parseBackupRun(res.stdout);
  try {
    return await use(run, res.code, res.stderr);
  } finally {
    if (run.dir) await host.exec(removeBackupDir(run.dir)).catch(() => undefined);
  }
}

async function microk8sCopy(ctx: RunContext, session: Session, spec: ClusterSpec): Promise<Copy> {
  ctx.reporter.phase("Back up the datastore (microk8s dbctl)");
  const state = await gatherMicrok8sState(
    session.hosts,
    spec.spec.nodes.filter((n) => session.hosts.has(n.name)),
  );
  const choice = microk8sBackupRunner(spec, state.status);
  if (!("runner" in choice)) {
    throw new HactlError("UNHEALTHY", "no control plane can make a datastore backup", {
      details: choice.refusals.map((r) => `- ${r}`).join("\n"),
      remedy: "Run `hactl status` and bring a control plane back first.",
    });
  }
  const runner = choice.runner;
  const host = need(session.hosts, runner);
  const name = `hactl-${spec.metadata.name}-${Date.now()}`;
  ctx.reporter.step(runner, "microk8s dbctl backup", "start");
  return onNode(host, dbctlBackup(name), ctx.signal, async (run, code, stderr) => {
    const archive = dbctlArchiveName(run.output);
    if (code !== 0 || !archive || !run.dir || !run.startedAt || !run.endedAt) {
      throw new HactlError("COMMAND_FAILED", `microk8s dbctl backup failed on ${runner} (exit ${code})`, {
        node: runner,
        details: [...run.output, ...stderr.trim().split("\n").slice(-5)].filter(Boolean).join("\n"),
        remedy:
          code === 10
            ? `dbctl needs a running API server with HA on: check \`microk8s status\` on ${runner}.`
            : `Run \`microk8s dbctl backup\` on ${runner} by hand to see why.`,
      });
    }
    const data = await host.download(`${run.dir}/${archive}`);
    let dump;
    try {
      dump = inspectDbctlDump(data);
    } catch (err) {
      throw unusable(runner, `microk8s dbctl backup made an unusable archive: ${(err as Error).message}`);
    }
    const small = copyTooSmall(dump.entries, spec);
    if (small) throw unusable(runner, small);
    ctx.reporter.step(runner, `datastore copied: ${dump.entries} keys, ${data.length} bytes`, "done");
    const file = `datastore/${dump.dir}.tar.gz`;
    const manifest = buildManifest(
      spec,
      { on: runner, startedAt: run.startedAt, takenAt: run.endedAt },
      {
        kind: "microk8s-dbctl",
        file,
        sha256: sha256(data),
        size: data.length,
        name: dump.dir,
        entries: dump.entries,
      },
    );
    return { manifest, files: [{ name: file, data }] };
  });
}

async function kubeadmCopy(ctx: RunContext, session: Session, spec: ClusterSpec): Promise<Copy> {
  ctx.reporter.phase("Back up the datastore (etcd snapshot)");
  const state = await gatherKubeadmState(
    session.hosts,
    spec.spec.nodes.filter((n) => session.hosts.has(n.name)),
  );
  const runner = state.leader;
  if (!runner || !state.etcdReadable) {
    throw new HactlError("UNHEALTHY", "no control plane answers for etcd", {
      remedy: "Run `hactl status` and bring a control plane back first.",
    });
  }
  const host = need(session.hosts, runner);
  ctx.reporter.step(runner, "etcdctl snapshot save", "start");
  return onNode(host, etcdSnapshotSave(KUBEADM_PKI_FILES), ctx.signal, async (run, code, stderr) => {
    if (code !== 0 || !run.dir || !run.startedAt || !run.endedAt) {
      throw new HactlError("COMMAND_FAILED", `etcdctl snapshot save failed on ${runner} (exit ${code})`, {
        node: runner,
        details: [...run.output, ...stderr.trim().split("\n").slice(-5)].filter(Boolean).join("\n"),
        remedy: `Check etcd on ${runner}: hactl status, then etcdctl endpoint health.`,
      });
    }
    const snapPath = `${run.dir}/snapshot.db`;
    let status;
    try {
      status = parseSnapshotStatus((await host.run(etcdSnapshotStatus(snapPath))).stdout);
    } catch (err) {
      throw unusable(
        runner,
        `etcdctl cannot read the snapshot it saved: ${err instanceof HactlError ? err.message : (err as Error).message}`,
      );
    }
    const small = copyTooSmall(status.totalKey, spec);
    if (small) throw unusable(runner, small);
    const data = await host.download(snapPath);
    const pki: BackupManifest["pki"] = [];
    const files: BackupFile[] = [];
    for (const [i, remote] of run.pki.entries()) {
      const content = await host.download(`${run.dir}/pki/${i + 1}`);
      const file = `pki${remote.replace("/etc/kubernetes/pki", "")}`;
      pki.push({ path: remote, file, sha256: sha256(content), size: content.length });
      files.push({ name: file, data: content });
    }
    if (!pki.some((p) => p.path.endsWith("/etcd/ca.crt")))
      throw unusable(runner, "the etcd CA (/etc/kubernetes/pki/etcd/ca.crt) could not be copied");
    ctx.reporter.step(
      runner,
      `snapshot: ${status.totalKey} keys at revision ${status.revision}, ${data.length} bytes; ${pki.length} PKI files`,
      "done",
    );
    const manifest = buildManifest(
      spec,
      { on: runner, startedAt: run.startedAt, takenAt: run.endedAt },
      {
        kind: "etcd-snapshot",
        file: "etcd/snapshot.db",
        sha256: sha256(data),
        size: data.length,
        revision: status.revision,
        totalKeys: status.totalKey,
      },
      pki,
    );
    return { manifest, files: [{ name: "etcd/snapshot.db", data }, ...files] };
  });
}

function unusable(node: string, message: string): HactlError {
  return new HactlError("UNHEALTHY", `no backup written: ${message}`, {
    node,
    remedy: `Check the datastore on ${node} (hactl status); a backup is only written when it is complete.`,
  });
}
