import { need } from "../core/host.js";
import { HactlError } from "../core/errors.js";
import { runs, writes } from "../core/action.js";
import { actionStep, type Phase, type Plan, type Step, type StepContext } from "../core/plan.js";
import {
  KUBEADM_RESTORE_DIR,
  KUBEADM_SNAPSHOT,
  kubeadmRestoreCleanup,
  kubeadmRestoreEtcd,
  kubeadmStartComponent,
  kubeadmStopControlPlane,
  type EtcdRestoreMember,
} from "../distros/datastore.js";
import { ETCD_PEER_PORT, kubeadm, memberAddress, parseMemberList, type EtcdMember } from "../distros/kubeadm.js";
import type { NodeSpec } from "../spec/schema.js";
import type { BackupManifest } from "./backup-archive.js";
import { restoreVerifyStep } from "./restore-plan.js";

/**
 * The kubeadm etcd restore from ONE snapshot for every member (kubernetes/kubernetes#89595: members
 * restored from different snapshots break the cluster), as a plan whose steps are all safe to repeat:
 *   1. on every control plane: stage the snapshot, move the kube-apiserver and etcd manifests away
 *      (the kubelet stops both) and wait until their ports close;
 *   2. on every control plane: `etcdctl snapshot restore` with its own member name and peer URL, the same
 *      initial cluster and a token derived from the snapshot, swapped in for the old data;
 *   3. etcd's manifest back everywhere (the members find each other), then membership and health checked;
 *   4. the API servers' manifests back, the staged files and old data removed;
 *   5. verify: nodes Ready, datastore healthy, API through the VIP (supplied by the caller).
 */

/** Each control plane's member: its etcd name (from the member list when etcd answered, else the node name). */
export function restoreMembers(
  controlPlanes: readonly NodeSpec[],
  known: readonly EtcdMember[],
  snapshotSha: string,
): Map<string, EtcdRestoreMember> {
  const peer = (n: NodeSpec): string => `https://${n.address}:${ETCD_PEER_PORT}`;
  const nameOf = (n: NodeSpec): string => known.find((m) => memberAddress(m) === n.address && m.name)?.name ?? n.name;
  const initialCluster = controlPlanes.map((n) => `${nameOf(n)}=${peer(n)}`).join(",");
  const token = `hactl-restore-${snapshotSha.slice(0, 16)}`;
  return new Map(controlPlanes.map((n) => [n.name, { name: nameOf(n), peerUrl: peer(n), initialCluster, token }]));
}

export interface KubeadmRestoreInput {
  controlPlanes: readonly NodeSpec[];
  /** Control plane that checks etcd's membership afterwards. */
  checker: string;
  manifest: BackupManifest;
  snapshot: Buffer;
  members: Map<string, EtcdRestoreMember>;
  verify: (ctx: StepContext) => Promise<void>;
  /** How long the membership check waits (ms). */
  etcdWaitMs?: number;
}

export function kubeadmRestorePlan(input: KubeadmRestoreInput): Plan {
  const { manifest, controlPlanes } = input;
  if (manifest.datastore.kind !== "etcd-snapshot")
    throw new HactlError("INTERNAL", "a kubeadm restore needs an etcd snapshot");
  const perNode = (make: (n: NodeSpec) => Step[]): Step[] => controlPlanes.flatMap(make);
  const stop = perNode((n) => [
    actionStep({
      id: `restore-stage:${n.name}`,
      node: n.name,
      title: `upload the etcd snapshot (revision ${manifest.datastore.kind === "etcd-snapshot" ? manifest.datastore.revision : 0})`,
      actions: [
        runs({ argv: ["mkdir", "-p", "-m", "700", KUBEADM_RESTORE_DIR], sudo: true }, { preparation: true }),
        writes(KUBEADM_SNAPSHOT, input.snapshot, { mode: 0o600, sudo: true }),
      ],
    }),
    actionStep({
      id: `restore-stop:${n.name}`,
      node: n.name,
      title: "stop the API server and etcd (manifests moved away)",
      actions: [runs(kubeadmStopControlPlane())],
    }),
  ]);
  const restore = perNode((n) => {
    const m = input.members.get(n.name);
    if (!m) throw new HactlError("INTERNAL", `no etcd member for ${n.name}`);
    return [
      actionStep({
        id: `restore-etcd:${n.name}`,
        node: n.name,
        title: `etcdctl snapshot restore as member ${m.name}`,
        actions: [runs(kubeadmRestoreEtcd(m))],
      }),
    ];
  });
  const startEtcd = perNode((n) => [
    actionStep({
      id: `restore-start-etcd:${n.name}`,
      node: n.name,
      title: "start etcd (manifest back)",
      actions: [runs(kubeadmStartComponent("etcd"))],
    }),
  ]);
  const expected = new Map([...input.members.values()].map((m) => [m.name, m.peerUrl]));
  const health: Step = {
    id: "restore-etcd-health",
    node: input.checker,
    title: `etcd: ${expected.size} members started and healthy`,
    describe: ["etcdctl member list; etcdctl endpoint health --cluster"],
    async run(ctx) {
      const host = need(ctx.hosts, input.checker);
      const until = Date.now() + (input.etcdWaitMs ?? 180_000);
      let problem = "";
      while (!ctx.signal.aborted) {
        const list = await host.exec(kubeadm.etcdctl("member", "list"));
        const members = list.code === 0 ? parseMemberList(list.stdout) : [];
        problem = membershipProblem(members, expected) ?? "";
        if (!problem) {
          const health = await host.exec(kubeadm.etcdctl("endpoint", "health", "--cluster"));
          if (health.code === 0) return "changed";
          problem = `endpoint health: ${health.stderr.trim().split("\n").slice(-1)[0] ?? `exit ${health.code}`}`;
        }
        if (Date.now() > until) break;
        await new Promise((r) => setTimeout(r, 2000));
      }
      throw new HactlError("UNHEALTHY", `etcd did not come back as the restored cluster: ${problem}`, {
        node: input.checker,
        remedy: "Look at etcd on each control plane (crictl logs / journalctl), then run the same hactl restore again.",
      });
    },
  };
  const startApi = perNode((n) => [
    actionStep({
      id: `restore-start-api:${n.name}`,
      node: n.name,
      title: "start the API server (manifest back)",
      actions: [runs(kubeadmStartComponent("kube-apiserver"))],
    }),
    actionStep({
      id: `restore-cleanup:${n.name}`,
      node: n.name,
      title: "remove the staged snapshot and the old etcd data",
      actions: [runs(kubeadmRestoreCleanup())],
    }),
  ]);
  const verify = restoreVerifyStep(input.checker, input.verify);
  const phases: Phase[] = [
    { title: "Stop the API servers and etcd on every control plane", mode: "parallel", steps: stop },
    {
      title: `Restore etcd from the snapshot of ${manifest.takenAt} on every control plane`,
      mode: "parallel",
      steps: restore,
    },
    { title: "Start etcd", mode: "parallel", steps: startEtcd },
    { title: "Check etcd's membership and health", mode: "serial", steps: [health] },
    { title: "Start the API servers", mode: "parallel", steps: startApi },
    { title: "Check the cluster", mode: "serial", steps: [verify] },
  ];
  return phases;
}

/** Why the member list is not the restored cluster yet (undefined when it is). */
export function membershipProblem(
  members: readonly EtcdMember[],
  expected: ReadonlyMap<string, string>,
): string | undefined {
  if (members.length === 0) return "etcdctl member list did not answer";
  const names = members.map((m) => m.name);
  const missing = [...expected.keys()].filter((n) => !names.includes(n));
  const extra = members.filter((m) => !expected.has(m.name)).map((m) => m.name || m.id);
  if (missing.length || extra.length) return `members ${names.join(", ")}; expected ${[...expected.keys()].join(", ")}`;
  const wrong = members.filter(
    (m) => m.status !== "started" || m.learner || !m.peerUrls.includes(expected.get(m.name) ?? ""),
  );
  return wrong.length ? `not started or wrong peer URL: ${wrong.map((m) => m.name).join(", ")}` : undefined;
}
