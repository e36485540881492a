import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { existsSync, readFileSync, rmSync, statSync } from "node:fs";
import { labClusterYaml } from "../lab/cluster-yaml.mjs";
import { inNode, labDown, labUp, startNode, stopNode, type Lab, type LabNode } from "../lab/lab.mjs";
import { openBackup } from "../../src/phases/backup-archive.js";
import { hactl, workdir, writeSpec, type HactlRun } from "./hactl.js";

/*
 * kubeadm with stacked etcd on the node kit: 3 control planes + 1 worker. The backup is an etcd snapshot
 * with kubeadm's etcd client certificates plus the PKI; the restore runs the full etcd procedure on every
 * member from the one snapshot (the kit's kubelet stops and starts etcd and the API server as their
 * static-pod manifests leave and come back).
 */

let lab: Lab;
let dir: string;
let spec: string;
const node = (i: number): LabNode => lab.nodes[i - 1] as LabNode;
const shown = (run: HactlRun): string => `${run.stdout}\n${run.stderr}`;
const HOST_FILES = ["/etc/modules-load.d/k8s.conf", "/etc/containerd/config.toml"];
const hostFilesBefore = new Set(HOST_FILES.filter((f) => existsSync(f)));
const CNI = "apiVersion: apps/v1\nkind: DaemonSet\nmetadata:\n  name: lab-cni\n  namespace: kube-system\nspec: {}\n";
const ETCDCTL = [
  "env",
  "ETCDCTL_API=3",
  "etcdctl",
  "--endpoints=https://127.0.0.1:2379",
  "--cacert=/etc/kubernetes/pki/etcd/ca.crt",
  "--cert=/etc/kubernetes/pki/etcd/server.crt",
  "--key=/etc/kubernetes/pki/etcd/server.key",
];

const kubectl = (...args: string[]) =>
  inNode(node(1), ["kubectl", "--kubeconfig", "/etc/kubernetes/admin.conf", ...args]);

async function apply(name: string): Promise<void> {
  const manifest = `apiVersion: v1\nkind: ConfigMap\nmetadata: {name: ${name}, namespace: default}\ndata: {k: v}\n`;
  const res = await inNode(node(1), ["kubectl", "--kubeconfig", "/etc/kubernetes/admin.conf", "apply", "-f", "-"], {
    input: manifest,
  });
  expect(res.code, res.stderr).toBe(0);
}

async function configMaps(): Promise<string[]> {
  const res = await kubectl("get", "configmaps", "-n", "default", "-o", "json");
  expect(res.code, res.stderr).toBe(0);
  return (JSON.parse(res.stdout) as { items: { metadata: { name: string } }[] }).items
    .map((c) => c.metadata.name)
    .sort();
}

beforeAll(async () => {
  lab = await labUp({ nodes: 4 });
  dir = workdir("backup-kubeadm");
  const cni = writeSpec(dir, CNI, "cni.yaml");
  spec = writeSpec(
    dir,
    labClusterYaml(lab, { distribution: "kubeadm", controlPlanes: 3, workers: 1 }).replace(
      '    version: "1.29"',
      `    version: "1.32"\n    cni: { manifest: ${cni} }`,
    ),
  );
  const run = await hactl(dir, ["install", "-f", spec, "--yes"], { timeoutMs: 900_000 });
  expect(run.code, shown(run)).toBe(0);
}, 1_000_000);

afterAll(async () => {
  await labDown();
  for (const f of HOST_FILES) if (!hostFilesBefore.has(f)) rmSync(f, { force: true });
});

describe("kubeadm backup and restore", () => {
  let archive = "";

  it("backs up an etcd snapshot and the PKI into a checked archive", async () => {
    await apply("kept");
    const started = Date.now();
    const run = await hactl(dir, ["backup", "-f", spec]);
    const seconds = (Date.now() - started) / 1000;
    expect(run.code, shown(run)).toBe(0);
    archive = /Backup written to (\S+) /.exec(run.stdout)?.[1] ?? "";
    expect(statSync(archive).mode & 0o777).toBe(0o600);
    const { manifest, files } = openBackup(readFileSync(archive));
    expect(manifest.datastore.kind).toBe("etcd-snapshot");
    expect(manifest.pki.map((p) => p.path)).toContain("/etc/kubernetes/pki/etcd/ca.crt");
    expect(files.get("pki/ca.key")?.toString()).toMatch(/PRIVATE KEY/);
    console.log(
      `kubeadm backup figures: ${statSync(archive).size} bytes, ${seconds.toFixed(1)} s (hactl backup -f cluster.yaml, 3 control planes + 1 worker)`,
    );
  });

  it("restores every etcd member from the one snapshot: the deleted object is back, the new one gone, the cluster healthy", async () => {
    expect((await kubectl("delete", "configmap", "kept", "-n", "default")).code).toBe(0);
    await apply("newer");
    const clusterId = async (): Promise<string | undefined> =>
      /"cluster_id":(\d+)/.exec((await inNode(node(1), [...ETCDCTL, "endpoint", "status", "-w", "json"])).stdout)?.[1];
    const clusterIdBefore = await clusterId();
    expect(clusterIdBefore).toBeDefined();
    const started = Date.now();
    const run = await hactl(dir, ["restore", archive, "-f", spec, "--yes"], { timeoutMs: 600_000 });
    const seconds = (Date.now() - started) / 1000;
    expect(run.code, shown(run)).toBe(0);
    expect(run.stdout).toContain("configmaps/default/newer");
    expect(run.stdout).toMatch(/4\/4 nodes Ready, datastore healthy, API answers through https:\/\//);
    const names = await configMaps();
    expect(names).toContain("kept");
    expect(names).not.toContain("newer");
    const list = (await inNode(node(2), [...ETCDCTL, "member", "list"])).stdout.trim().split("\n");
    expect(list).toHaveLength(3);
    for (const i of [1, 2, 3])
      expect(list.some((l) => l.includes(`node-${i}, https://${node(i).address}:2380`) && l.includes("started"))).toBe(
        true,
      );
    const clusterIdAfter = await clusterId();
    expect(clusterIdAfter).toBeDefined();
    expect(clusterIdAfter).not.toBe(clusterIdBefore);
    for (const i of [1, 2, 3]) {
      expect((await inNode(node(i), ["sh", "-c", "ls -a /var/lib/etcd /etc/kubernetes/manifests"])).stdout).not.toMatch(
        /hactl/,
      );
    }
    const status = await hactl(dir, ["status", "-f", spec]);
    expect(status.code, shown(status)).toBe(0);
    console.log(`kubeadm restore figures: ${seconds.toFixed(1)} s (hactl restore FILE --yes, 3 etcd members)`);
  });

  it("a restore during which a control plane dies is finished by running it again: members already restored are kept, the rest restored", async () => {
    await apply("newer-2");
    const running = hactl(dir, ["restore", archive, "-f", spec, "--yes", "--command-timeout", "40"], {
      timeoutMs: 600_000,
    });
    await waitFor(
      async () => (await inNode(node(1), ["sh", "-c", "ls -a /var/lib/etcd"])).stdout.includes(".hactl-restored-"),
      120_000,
    );
    await stopNode("node-3");
    const failed = await running;
    expect(failed.code, shown(failed)).not.toBe(0);
    await startNode("node-3");
    const resumed = await hactl(dir, ["restore", archive, "-f", spec, "--yes"], {
      env: { HACTL_LOCK_STALE_SECONDS: "5" },
      timeoutMs: 600_000,
    });
    expect(resumed.code, shown(resumed)).toBe(0);
    expect(resumed.stderr).toMatch(/did not finish/);
    expect(resumed.stdout).toMatch(/4\/4 nodes Ready, datastore healthy/);
    const names = await configMaps();
    expect(names).toContain("kept");
    expect(names).not.toContain("newer-2");
    const list = (await inNode(node(3), [...ETCDCTL, "member", "list"])).stdout.trim().split("\n");
    expect(list.filter((l) => l.includes("started"))).toHaveLength(3);
  });
});

async function waitFor(check: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error("condition not met in time");
}
