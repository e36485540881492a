import { describe, expect, it } from "vitest";
import { applyPlan } from "../../../src/core/executor.js";
import { parseMemberList } from "../../../src/distros/kubeadm.js";
import { sha256, type BackupManifest } from "../../../src/phases/backup-archive.js";
import { buildManifest } from "../../../src/phases/backup-plan.js";
import { kubeadmRestorePlan, membershipProblem, restoreMembers } from "../../../src/phases/restore-kubeadm.js";
import { FakeHost } from "../../fakes/fake-host.js";
import { THREE_CP_ONE_WORKER, specFrom } from "../../fakes/spec.js";

const spec = specFrom(THREE_CP_ONE_WORKER.replace("type: microk8s", "type: kubeadm"));
const controlPlanes = spec.spec.nodes.filter((n) => n.role === "control-plane");
const snapshot = Buffer.alloc(32 * 1024, 1);
const manifest: BackupManifest = buildManifest(
  spec,
  { on: "node-1", startedAt: "2026-01-02T03:04:05.000Z", takenAt: "2026-01-02T03:04:06.000Z" },
  {
    kind: "etcd-snapshot",
    file: "etcd/snapshot.db",
    sha256: sha256(snapshot),
    size: snapshot.length,
    revision: 77,
    totalKeys: 300,
  },
);
const LIST = [
  "8e9e05c52164694d, started, cp-one, https://10.0.0.11:2380, https://10.0.0.11:2379, false",
  "91bc3c398fb3c146, started, node-2, https://10.0.0.12:2380, https://10.0.0.12:2379, false",
].join("\n");

describe("restored etcd members", () => {
  it("keep their etcd names (the node name when etcd did not answer), share one initial cluster and a token from the snapshot", () => {
    const members = restoreMembers(controlPlanes, parseMemberList(LIST), manifest.datastore.sha256);
    const initialCluster = "cp-one=https://10.0.0.11:2380,node-2=https://10.0.0.12:2380,node-3=https://10.0.0.13:2380";
    expect(members.get("node-1")).toEqual({
      name: "cp-one",
      peerUrl: "https://10.0.0.11:2380",
      initialCluster,
      token: `hactl-restore-${manifest.datastore.sha256.slice(0, 16)}`,
    });
    expect(members.get("node-3")?.name).toBe("node-3");
    expect(new Set([...members.values()].map((m) => m.token)).size).toBe(1);
  });

  it("are the cluster only when every expected member is started, a voter and on its peer URL", () => {
    const expected = new Map([
      ["cp-one", "https://10.0.0.11:2380"],
      ["node-2", "https://10.0.0.12:2380"],
    ]);
    expect(membershipProblem(parseMemberList(LIST), expected)).toBeUndefined();
    expect(membershipProblem([], expected)).toMatch(/did not answer/);
    expect(membershipProblem(parseMemberList(LIST.replace("started, node-2", "unstarted, node-2")), expected)).toMatch(
      /not started or wrong peer URL: node-2/,
    );
    expect(
      membershipProblem(parseMemberList(LIST), new Map([...expected, ["node-3", "https://10.0.0.13:2380"]])),
    ).toMatch(/expected cp-one, node-2, node-3/);
  });
});

describe("the kubeadm restore plan", () => {
  it("stops every control plane before any restore, restores all from the one snapshot, starts etcd, checks it, then the API servers", async () => {
    const order: string[] = [];
    const hosts = new Map(
      controlPlanes.map((n) => {
        const h = new FakeHost(n.name, n.address).on({ regex: /.*/ }, (c) => {
          const script = c.argv.join(" ");
          const what = script.includes("snapshot restore")
            ? "restore"
            : script.includes("mv /etc/kubernetes/manifests")
              ? "stop"
              : script.includes("hactl-restore/etcd.yaml")
                ? "start-etcd"
                : script.includes("hactl-restore/kube-apiserver.yaml")
                  ? "start-api"
                  : script.includes("member list")
                    ? "members"
                    : script.includes("endpoint health")
                      ? "health"
                      : "other";
          order.push(`${what}:${n.name}`);
          return what === "members"
            ? {
                stdout:
                  LIST.replace("cp-one", "node-1") +
                  "\n" +
                  "aa, started, node-3, https://10.0.0.13:2380, https://10.0.0.13:2379, false\n",
              }
            : { code: 0 };
        });
        return [n.name, h];
      }),
    );
    let verified = false;
    const plan = kubeadmRestorePlan({
      controlPlanes,
      checker: "node-1",
      manifest,
      snapshot,
      members: restoreMembers(controlPlanes, [], manifest.datastore.sha256),
      verify: async () => void (verified = true),
    });
    await applyPlan(plan, {
      hosts,
      reporter: { phase: () => undefined, step: () => undefined, log: () => undefined },
      signal: new AbortController().signal,
    });
    const last = (what: string) => Math.max(...order.flatMap((o, i) => (o.startsWith(`${what}:`) ? [i] : [])));
    const first = (what: string) => order.findIndex((o) => o.startsWith(`${what}:`));
    expect(order.filter((o) => o.startsWith("restore:"))).toHaveLength(3);
    expect(last("stop")).toBeLessThan(first("restore"));
    expect(last("restore")).toBeLessThan(first("start-etcd"));
    expect(last("start-etcd")).toBeLessThan(first("members"));
    expect(first("health")).toBeLessThan(first("start-api"));
    for (const h of hosts.values())
      expect(h.written.map((w) => [w.path, w.options.mode])).toEqual([
        ["/etc/kubernetes/hactl-restore/snapshot.db", 0o600],
      ]);
    const restoreArgv =
      (hosts.get("node-2") as FakeHost).commands.find((c) => c.argv.join(" ").includes("snapshot restore"))?.argv ?? [];
    expect(restoreArgv.slice(-4)).toEqual([
      "node-2",
      "node-1=https://10.0.0.11:2380,node-2=https://10.0.0.12:2380,node-3=https://10.0.0.13:2380",
      "https://10.0.0.12:2380",
      `hactl-restore-${manifest.datastore.sha256.slice(0, 16)}`,
    ]);
    expect(verified).toBe(true);
  });
});
