import { need } from "../core/host.js";
import { applyLocked } from "./locked-apply.js";
import { readFileSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import type { RunContext } from "../core/context.js";
import { stateDir } from "../core/context.js";
import { HactlError } from "../core/errors.js";
import { describePlan, type Plan, type StepContext } from "../core/plan.js";
import { KUBEADM_API_PORT, kubeadm } from "../distros/kubeadm.js";
import { gatherKubeadmState } from "../gather/kubeadm-state.js";
import { restoreMembers, kubeadmRestorePlan } from "../phases/restore-kubeadm.js";
import { kubeadmStatusView } from "../distros/kubeadm/driver.js";
import type { NodeSpec } from "../spec/schema.js";
import { MICROK8S_API_PORT, microk8s } from "../distros/microk8s.js";
import { byDistribution } from "../distros/registry.js";
import { observeFrontends } from "../gather/cluster-status.js";
import { gatherMicrok8sState } from "../gather/microk8s-state.js";
import { openBackup, parseChecksumLine, sha256, type OpenedBackup } from "../phases/backup-archive.js";
import { microk8sBackupRunner } from "../phases/backup-plan.js";
import {
  RESTORED_KINDS,
  createdAfter,
  lossSummary,
  parseObjectList,
  restoreRefusals,
  type ListedObject,
} from "../phases/restore-check.js";
import { microk8sRestorePlan } from "../phases/restore-plan.js";
import { statusReport, viewStatusReport, type StatusReport } from "../phases/status-report.js";
import { loadSpecFile } from "../spec/parse.js";
import type { ClusterSpec } from "../spec/schema.js";
import { apiEndpoint } from "./converge-stages.js";
import type { JournalEntry } from "./journal.js";
import { lockNode, machinesOf, openSession, type Session } from "./session.js";
import { waitLivez } from "./verify-api.js";

export interface RestoreOptions {
  backup: string;
  file: string;
  dryRun: boolean;
}

const VERIFY_TIMEOUT_MS = 180_000;

/**
 * `hactl restore FILE`: the archive is checked before anything connects (checksum, manifest, same cluster,
 * distribution, version and members) and refused with exit 2 otherwise; then the loss is shown and
 * confirmed, the datastore restored under the cluster lock with every step in the run journal, and the
 * cluster checked (nodes Ready, datastore healthy, API through the VIP).
 */
export async function runRestore(opts: RestoreOptions, ctx: RunContext): Promise<number> {
  const { spec } = await loadSpecFile(opts.file);
  const backup = await checkBackupFile(opts.backup, spec);
  const { manifest } = backup;
  const unfinished = unfinishedRestore(spec.metadata.name);
  if (unfinished)
    ctx.reporter.warn(
      `the restore started ${unfinished.time} did not finish (last step: ${unfinished.step} on ${unfinished.node}); this run does every step again`,
    );
  const session = await openSession(spec, machinesOf(spec), ctx);
  try {
    const prepared = await byDistribution(spec, { microk8s: prepareMicrok8s, kubeadm: prepareKubeadm })(
      spec,
      session,
      backup,
    );
    const { plan, doomed, journalNode } = prepared;
    ctx.reporter.print(lossSummary(manifest, doomed).join("\n"));
    if (prepared.note) ctx.reporter.info(prepared.note);
    if (opts.dryRun) {
      ctx.reporter.phase("Plan (dry run: nothing is changed)");
      ctx.reporter.print(describePlan(plan));
      return 0;
    }
    await confirmRestore(ctx, spec);
    await applyLocked(
      plan,
      spec,
      session,
      { command: "restore", lockOn: lockNode(spec, session), journalOn: journalNode },
      ctx,
    );
    const endpoint = apiEndpoint(spec);
    ctx.reporter.result({
      restored: resolve(opts.backup),
      takenAt: manifest.takenAt,
      deleted: doomed.length,
      nodesReady: spec.spec.nodes.length,
      datastoreHealthy: true,
      endpoint,
    });
    ctx.reporter.print(
      [
        "",
        `Restored ${spec.metadata.name} to its state of ${manifest.takenAt}.`,
        `  ${spec.spec.nodes.length}/${spec.spec.nodes.length} nodes Ready, datastore healthy${endpoint ? `, API answers through https://${endpoint.host}:${endpoint.port}` : ""}.`,
      ].join("\n"),
    );
    return 0;
  } finally {
    await session.close();
  }
}

/**
 * Reads and checks the archive on the workstation: FILE.sha256 beside it must match, the archive must open
 * (manifest, every file's checksum, a non-empty datastore copy) and fit this cluster. Exit 2 otherwise.
 */
export async function checkBackupFile(path: string, spec: ClusterSpec): Promise<OpenedBackup> {
  const refuse = (message: string, remedy: string, details?: string) =>
    new HactlError("USAGE", `refusing to restore ${path}: ${message}; nothing was changed`, {
      remedy,
      ...(details ? { details } : {}),
    });
  let data: Buffer;
  let sumText: string;
  try {
    data = await readFile(path);
  } catch (err) {
    throw refuse(
      `cannot read it (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`,
      "Give the path of an archive made by hactl backup.",
    );
  }
  try {
    sumText = await readFile(`${path}.sha256`, "utf8");
  } catch {
    throw refuse(
      `${path}.sha256 is missing`,
      "Keep the .sha256 file hactl backup wrote beside the archive; without it the archive cannot be trusted.",
    );
  }
  const expected = parseChecksumLine(sumText);
  if (!expected)
    throw refuse(`${path}.sha256 holds no SHA-256 checksum`, "Restore the .sha256 file hactl backup wrote.");
  if (sha256(data) !== expected)
    throw refuse(
      "its SHA-256 does not match the .sha256 file beside it (damaged or altered)",
      "Use an intact copy of the backup.",
    );
  let opened: OpenedBackup;
  try {
    opened = openBackup(data);
  } catch (err) {
    throw refuse((err as Error).message, "Use an intact copy of the backup.");
  }
  const refusals = restoreRefusals(opened.manifest, spec);
  if (refusals.length > 0) {
    throw refuse(
      "it does not belong to this cluster",
      "Restore a backup of this cluster, or use the cluster.yaml the backup was taken with.",
      refusals.map((r) => `- ${r}`).join("\n"),
    );
  }
  return opened;
}

async function confirmRestore(ctx: RunContext, spec: ClusterSpec): Promise<void> {
  if (ctx.yes) return;
  if (!ctx.interactive) {
    throw new HactlError(
      "USAGE",
      "a restore replaces the cluster's state and needs confirmation; nothing was changed",
      { remedy: "Read the summary above, then run the same command with --yes." },
    );
  }
  const { confirm } = await import("../ui/prompts.js");
  if (!(await confirm(`Restore ${spec.metadata.name} from this backup? Everything listed above is lost.`, false))) {
    throw new HactlError("USER_ABORTED", "cancelled before any change");
  }
}

interface PreparedRestore {
  plan: Plan;
  doomed: ListedObject[];
  /** The control plane that keeps the remote copy of the run journal. */
  journalNode: string;
  note?: string;
}

async function prepareMicrok8s(spec: ClusterSpec, session: Session, backup: OpenedBackup): Promise<PreparedRestore> {
  const { manifest } = backup;
  const state = await gatherMicrok8sState(session.hosts, spec.spec.nodes);
  const choice = microk8sBackupRunner(spec, state.status);
  if (!("runner" in choice)) {
    throw new HactlError("UNHEALTHY", "no control plane can run microk8s dbctl restore; nothing was changed", {
      details: choice.refusals.map((r) => `- ${r}`).join("\n"),
      remedy:
        "dbctl needs a running API server with HA on: bring a control plane back (hactl status), then run hactl restore again.",
    });
  }
  const runner = choice.runner;
  const listed = await need(session.hosts, runner).run(
    microk8s.kubectl("get", RESTORED_KINDS.join(","), "-A", "-o", "json"),
  );
  const doomed = createdAfter(parseObjectList(listed.stdout), manifest.takenAt);
  const datastore = backup.files.get(manifest.datastore.file) as Buffer;
  const gather = async (): Promise<StatusReport> => {
    const st = await gatherMicrok8sState(session.hosts, spec.spec.nodes);
    return statusReport({
      spec,
      unreachable: new Set(),
      state: st,
      ...(await observeFrontends(spec, session.hosts)),
      apiPort: MICROK8S_API_PORT,
    });
  };
  const plan = microk8sRestorePlan({
    runner,
    manifest,
    datastore,
    doomed,
    verify: (stepCtx) => verifyRestored(spec, gather, stepCtx),
  });
  return { plan, doomed, journalNode: runner };
}

async function prepareKubeadm(spec: ClusterSpec, session: Session, backup: OpenedBackup): Promise<PreparedRestore> {
  const { manifest } = backup;
  const state = await gatherKubeadmState(session.hosts, spec.spec.nodes);
  const controlPlanes = spec.spec.nodes.filter((n) => n.role === "control-plane");
  const checker = state.leader ?? (controlPlanes[0] as NodeSpec).name;
  let doomed: ListedObject[] = [];
  let note: string | undefined;
  const listed = state.leader
    ? await need(session.hosts, state.leader).exec(kubeadm.kubectl("get", RESTORED_KINDS.join(","), "-A", "-o", "json"))
    : undefined;
  if (listed?.code === 0) doomed = createdAfter(parseObjectList(listed.stdout), manifest.takenAt);
  else
    note =
      "The API does not answer now, so the objects created after the backup cannot be listed; the restore removes them all the same.";
  const snapshot = backup.files.get(manifest.datastore.file) as Buffer;
  const gather = async (): Promise<StatusReport> => {
    const st = await gatherKubeadmState(session.hosts, spec.spec.nodes);
    return viewStatusReport({
      spec,
      unreachable: new Set(),
      view: kubeadmStatusView(st),
      ...(await observeFrontends(spec, session.hosts)),
      apiPort: KUBEADM_API_PORT,
    });
  };
  const plan = kubeadmRestorePlan({
    controlPlanes,
    checker,
    manifest,
    snapshot,
    members: restoreMembers(controlPlanes, state.members, manifest.datastore.sha256),
    verify: (stepCtx) => verifyRestored(spec, gather, stepCtx),
  });
  return { plan, doomed, journalNode: checker, ...(note ? { note } : {}) };
}

/** Waits until the cluster is healthy as `hactl status` sees it and the API answers through the VIP. */
async function verifyRestored(spec: ClusterSpec, gather: () => Promise<StatusReport>, ctx: StepContext): Promise<void> {
  const endpoint = apiEndpoint(spec);
  const deadline = Date.now() + VERIFY_TIMEOUT_MS;
  let problems: string[] = [];
  while (!ctx.signal.aborted) {
    const report = await gather();
    problems = [...report.problems];
    if (endpoint && !(await waitLivez(endpoint.host, endpoint.port, 5_000)))
      problems.push(`the API does not answer through https://${endpoint.host}:${endpoint.port}`);
    if (problems.length === 0) {
      const ready = report.nodes.filter((n) => n.ready).length;
      ctx.log(
        `${ready}/${report.nodes.length} nodes Ready, datastore healthy${endpoint ? ", API answers through the VIP" : ""}`,
      );
      return;
    }
    if (Date.now() > deadline) break;
    await new Promise((r) => setTimeout(r, 2000));
  }
  throw new HactlError("UNHEALTHY", "the datastore was restored but the cluster is not healthy yet", {
    details: problems.map((p) => `- ${p}`).join("\n"),
    remedy:
      "Run `hactl status`; when the problem is fixed, run the same hactl restore again (it repeats every step safely).",
  });
}

/** The last restore of this cluster in the local journal when it never reached its final check. */
function unfinishedRestore(cluster: string): JournalEntry | undefined {
  let lines: string[];
  try {
    lines = readFileSync(join(stateDir(), "journal", `${cluster}.jsonl`), "utf8")
      .split("\n")
      .filter(Boolean);
  } catch {
    return undefined;
  }
  const entries = lines.flatMap((l) => {
    try {
      return [JSON.parse(l) as JournalEntry];
    } catch {
      return [];
    }
  });
  const restores = entries.filter((e) => e.command === "restore");
  const last = restores[restores.length - 1];
  if (!last) return undefined;
  const run = restores.filter((e) => e.run === last.run);
  const done = run.some((e) => e.step === "restore-verify" && (e.outcome === "changed" || e.outcome === "unchanged"));
  return done ? undefined : { ...last, time: run[0]?.time ?? last.time };
}
