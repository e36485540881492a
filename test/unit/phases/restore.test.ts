import { describe, expect, it } from "vitest";
import { applyPlan } from "../../../src/core/executor.js";
import { sha256, type BackupManifest } from "../../../src/phases/backup-archive.js";
import { buildManifest } from "../../../src/phases/backup-plan.js";
import {
  createdAfter,
  deleteArgs,
  lossSummary,
  parseObjectList,
  restoreRefusals,
  type ListedObject,
} from "../../../src/phases/restore-check.js";
import { microk8sRestorePlan } from "../../../src/phases/restore-plan.js";
import { FakeHost } from "../../fakes/fake-host.js";
import { THREE_CP_ONE_WORKER, specFrom } from "../../fakes/spec.js";

const spec = specFrom(THREE_CP_ONE_WORKER);
const store = Buffer.from("dbctl archive bytes");

function manifest(over: Partial<BackupManifest> = {}): BackupManifest {
  return {
    ...buildManifest(
      spec,
      { on: "node-1", startedAt: "2026-01-02T03:04:05.000Z", takenAt: "2026-01-02T03:04:06.500Z" },
      {
        kind: "microk8s-dbctl",
        file: "datastore/bk.tar.gz",
        sha256: sha256(store),
        size: store.length,
        name: "bk",
        entries: 42,
      },
    ),
    ...over,
  };
}

const list = (items: object[]): string => JSON.stringify({ apiVersion: "v1", kind: "List", items });
const item = (kind: string, name: string, created: string, extra: Record<string, unknown> = {}) => ({
  kind,
  metadata: { name, ...(kind === "Namespace" ? {} : { namespace: "default" }), creationTimestamp: created, ...extra },
});

describe("which backups fit the cluster", () => {
  it("accepts its own backup", () => {
    expect(restoreRefusals(manifest(), spec)).toEqual([]);
  });

  it("refuses another cluster, distribution or version, and changed members, with every reason", () => {
    expect(restoreRefusals(manifest({ cluster: "prod" }), spec)).toEqual([
      'the backup is of cluster "prod", cluster.yaml is "lab"',
    ]);
    expect(restoreRefusals(manifest({ distribution: { type: "kubeadm", version: "1.29" } }), spec)).toEqual([
      "the backup is of a kubeadm cluster, this one runs microk8s",
    ]);
    expect(restoreRefusals(manifest({ distribution: { type: "microk8s", version: "1.28" } }), spec)[0]).toMatch(
      /taken on Kubernetes 1.28, cluster.yaml says 1.29/,
    );
    const members = manifest()
      .members.filter((m) => m.name !== "worker-1")
      .map((m) => (m.name === "node-2" ? { ...m, address: "10.0.0.99" } : m));
    expect(
      restoreRefusals(manifest({ members: [...members, { name: "old", address: "10.0.0.50", role: "worker" }] }), spec),
    ).toEqual([
      "nodes in the backup but not in cluster.yaml: old",
      "nodes in cluster.yaml but not in the backup: worker-1",
      "node-2 was 10.0.0.99 (control-plane) in the backup, cluster.yaml has 10.0.0.12 (control-plane)",
    ]);
  });
});

describe("what a restore loses", () => {
  const objects = parseObjectList(
    list([
      item("Deployment", "old", "2026-01-02T03:04:06Z"),
      item("Deployment", "new", "2026-01-02T03:04:07Z"),
      item("Namespace", "team", "2026-01-02T03:05:00Z"),
      item("ConfigMap", "in-team", "2026-01-02T03:05:01Z"),
      item("Secret", "owned", "2026-01-02T03:05:01Z", { ownerReferences: [{ kind: "Deployment", name: "new" }] }),
      { kind: "Namespace", metadata: { name: "default" } },
    ]),
  );

  it("is every unowned object created after the copy was complete, namespaces last", () => {
    const doomed = createdAfter(objects, manifest().takenAt);
    expect(doomed.map((o) => `${o.kind}/${o.name}`)).toEqual(["ConfigMap/in-team", "Deployment/new", "Namespace/team"]);
    expect(deleteArgs(doomed[0] as ListedObject)).toEqual([
      "delete",
      "configmaps",
      "in-team",
      "-n",
      "default",
      "--ignore-not-found",
    ]);
    expect(deleteArgs(doomed[2] as ListedObject)).toEqual(["delete", "namespaces", "team", "--ignore-not-found"]);
  });

  it("is named in the confirmation", () => {
    const text = lossSummary(manifest(), createdAfter(objects, manifest().takenAt)).join("\n");
    expect(text).toContain("every change since 2026-01-02T03:04:06.500Z is lost");
    expect(text).toContain("deployments/default/new (created 2026-01-02T03:04:07Z)");
    expect(lossSummary(manifest(), []).join("\n")).toContain(
      "No object of the restored kinds was created after the backup.",
    );
  });
});

describe("the MicroK8s restore plan", () => {
  const reporter = { phase: () => undefined, step: () => undefined, log: () => undefined };

  function cluster(restoreStderr: string) {
    const after = list([
      item("Deployment", "web", "2026-01-02T03:00:00Z"),
      item("Deployment", "extra", "2026-01-02T03:10:00Z"),
    ]);
    const host = new FakeHost("node-1", "10.0.0.11")
      .on({ prefix: ["sh", "-c", 'umask 077; mkdir -p "$1"'] }, { code: 0 })
      .on({ regex: /dbctl restore/ }, { code: 0, stdout: "Restoring from bk.tar.gz\n", stderr: restoreStderr })
      .on({ prefix: ["microk8s", "kubectl", "get"] }, { stdout: after })
      .on({ prefix: ["microk8s", "kubectl", "delete"] }, { stdout: 'deployment.apps "extra" deleted\n' });
    return host;
  }

  it("stages the copy under dbctl's name, restores, deletes what is newer than the backup, unstages, then verifies", async () => {
    const host = cluster('time="x" level=info msg="Completed database restore" entries=42\n');
    let verified = 0;
    const plan = microk8sRestorePlan({
      runner: "node-1",
      manifest: manifest(),
      datastore: store,
      doomed: [],
      verify: async () => void verified++,
    });
    await applyPlan(plan, { hosts: new Map([["node-1", host]]), reporter, signal: new AbortController().signal });
    expect(host.written.map((w) => [w.path, w.options.mode])).toEqual([["/var/lib/hactl/restore/bk.tar.gz", 0o600]]);
    const lines = host.lines;
    expect(lines.findIndex((l) => l.includes("dbctl restore"))).toBeLessThan(
      lines.findIndex((l) => l.includes("kubectl delete")),
    );
    expect(lines).toContain("microk8s kubectl delete deployments extra -n default --ignore-not-found");
    expect(lines.filter((l) => l.includes("kubectl delete"))).toHaveLength(1);
    expect(lines).toContain("rm -f /var/lib/hactl/restore/bk.tar.gz");
    expect(verified).toBe(1);
  });

  it("fails when the migrator wrote fewer keys than the backup holds or logged failures", async () => {
    for (const stderr of [
      'level=info msg="Completed database restore" entries=0\n',
      'level=error msg="Failed to restore key" index=3 key=/registry/x\nlevel=info msg="Completed database restore" entries=42\n',
    ]) {
      const host = cluster(stderr);
      const plan = microk8sRestorePlan({
        runner: "node-1",
        manifest: manifest(),
        datastore: store,
        doomed: [],
        verify: async () => undefined,
      });
      await expect(
        applyPlan(plan, { hosts: new Map([["node-1", host]]), reporter, signal: new AbortController().signal }),
      ).rejects.toThrow(/dbctl restored \d+ of 42 keys/);
      expect(host.lines.some((l) => l.includes("kubectl delete"))).toBe(false);
    }
  });
});
