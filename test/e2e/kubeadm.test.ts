import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { existsSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { labClusterYaml } from "../lab/cluster-yaml.mjs";
import { inNode, labDown, labUp, type Lab, type LabNode } from "../lab/lab.mjs";
import { probeLivez } from "../../src/actions/verify-api.js";
import { LAB_CNI, hactl, reportDocument, type HactlRun, workdir, writeSpec } from "./hactl.js";

/*
 * kubeadm with stacked etcd on the node kit: 3 control planes + 2 workers behind keepalived/haproxy.
 * The kit's knobs: the uploaded certificate key lives 10 s (HACTL_KIT_CERT_KEY_TTL_SECONDS) and every
 * `kubeadm join` costs 4 s, so the key from `kubeadm init` has expired by the time the third control plane
 * joins; node-3's first join fails after its etcd member was added (fault fail-join-after-consume).
 */

let lab: Lab;
let dir: string;
let spec: string;
let install: HactlRun;
const node = (i: number): LabNode => lab.nodes[i - 1] as LabNode;
const HOST_FILES = ["/etc/modules-load.d/k8s.conf", "/etc/containerd/config.toml"];
const hostFilesBefore = new Set(HOST_FILES.filter((f) => existsSync(f)));
const ETCDCTL = [
  "env",
  "ETCDCTL_API=3",
  "etcdctl",
  "--endpoints=https://127.0.0.1:2379",
  "--cacert=/etc/kubernetes/pki/etcd/ca.crt",
  "--cert=/etc/kubernetes/pki/etcd/server.crt",
  "--key=/etc/kubernetes/pki/etcd/server.key",
];

async function members(from: number): Promise<string[]> {
  const r = await inNode(node(from), [...ETCDCTL, "member", "list"]);
  expect(r.code, r.stderr).toBe(0);
  return r.stdout.split("\n").filter((l) => l.trim() !== "");
}

function outputs(run: HactlRun): string {
  return `${run.stdout}\n${run.stderr}\n${run.log}`;
}

beforeAll(async () => {
  lab = await labUp({ nodes: 6 });
  dir = workdir("kubeadm");
  const cni = writeSpec(dir, LAB_CNI, "cni.yaml");
  const text = labClusterYaml(lab, { distribution: "kubeadm", controlPlanes: 3, workers: 2 }).replace(
    '    version: "1.29"',
    `    version: "1.32"\n    cni: { manifest: ${cni} }`,
  );
  spec = writeSpec(dir, text);
  for (const n of lab.nodes) {
    await inNode(n, [
      "sh",
      "-c",
      "mkdir -p /var/lib/hactl-kit/faults && echo HACTL_KIT_CERT_KEY_TTL_SECONDS=10 > /var/lib/hactl-kit/env && echo '{\"join\": 4000}' > /var/lib/hactl-kit/cost.json",
    ]);
  }
  await inNode(node(3), ["touch", "/var/lib/hactl-kit/faults/fail-join-after-consume"]);
  install = await hactl(dir, ["install", "-f", spec, "--yes", "--kubeconfig", join(dir, "lab.kubeconfig")], {
    timeoutMs: 900_000,
  });
}, 1_000_000);

afterAll(async () => {
  await labDown();
  for (const f of HOST_FILES) if (!hostFilesBefore.has(f)) rmSync(f, { force: true });
});

describe("kubeadm install", () => {
  it("installs 3 control planes and 2 workers: 3 voting etcd members, every node Ready, the API answers through the VIP", async () => {
    expect(install.code, outputs(install)).toBe(0);
    const list = await members(1);
    expect(list).toHaveLength(3);
    for (const i of [1, 2, 3])
      expect(list.some((l) => l.includes(`https://${node(i).address}:2380`) && l.trim().endsWith("false"))).toBe(true);
    const nodes = await inNode(node(1), ["kubectl", "--kubeconfig", "/etc/kubernetes/admin.conf", "get", "nodes"]);
    for (const i of [1, 2, 3, 4, 5]) expect(nodes.stdout).toMatch(new RegExp(`node-${i}\\s+Ready`));
    expect(await probeLivez(lab.vips[0] as string, 7443)).toBe(true);
    expect(readFileSync(join(dir, "lab.kubeconfig"), "utf8")).toContain(`server: https://${lab.vips[0]}:7443`);
  });

  it("joins the workers in parallel: their joins overlap in time", async () => {
    const mtime = async (i: number): Promise<number> =>
      Number((await inNode(node(i), ["stat", "-c", "%Y", "/etc/kubernetes/kubelet.conf"])).stdout.trim());
    const [a, b] = [await mtime(4), await mtime(5)];
    expect(a).toBeGreaterThan(0);
    expect(Math.abs(a - b)).toBeLessThan(3);
  });

  it("re-uploads the certificates when the key expired, and cleans up the failed join's etcd member before retrying", () => {
    const text = outputs(install);
    expect(text).toMatch(/certificate key has expired: uploading the certificates again and retrying/);
    expect(text).toMatch(/control-plane certificates uploaded again/);
    expect(text).toMatch(/removing etcd member [0-9a-f]+ .*at 10\.77\.0\.13/);
  });

  it("shows no bootstrap token or certificate key in any output or log, and leaves no join config behind", async () => {
    const listed = await inNode(node(1), ["kubeadm", "token", "list"]);
    const tokens = listed.stdout
      .split("\n")
      .slice(1)
      .map((l) => l.split(/\s+/)[0] ?? "")
      .filter((t) => /^[a-z0-9]{6}\.[a-z0-9]{16}$/.test(t));
    expect(tokens.length).toBeGreaterThan(2);
    const text = outputs(install);
    for (const t of tokens) {
      expect(text).not.toContain(t);
      expect(text).not.toContain(t.split(".")[1]);
    }
    expect(text.replace(/sha256:[0-9a-f]{64}/g, "")).not.toMatch(/[0-9a-f]{64}/);
    for (const i of [1, 2, 3, 4, 5]) {
      expect((await inNode(node(i), ["sh", "-c", "ls /run/hactl-kubeadm-* 2>/dev/null | wc -l"])).stdout.trim()).toBe(
        "0",
      );
    }
  });

  it("a second install changes nothing", async () => {
    const run = await hactl(dir, ["install", "-f", spec, "--yes", "--kubeconfig", join(dir, "lab.kubeconfig")]);
    expect(run.code, outputs(run)).toBe(0);
    expect(run.stdout + run.stderr).toMatch(/0 step\(s\) changed/);
  });
});

describe("kubeadm day-2", () => {
  it("add-node joins a 4th control plane with a fresh token and certificate key; every LB gets it", async () => {
    const run = await hactl(dir, [
      "add-node",
      "node-6",
      "--address",
      node(6).address,
      "--role",
      "control-plane",
      "-f",
      spec,
      "--yes",
    ]);
    expect(run.code, outputs(run)).toBe(0);
    expect(outputs(run)).toMatch(/control-plane certificates uploaded again/);
    const list = await members(1);
    expect(list).toHaveLength(4);
    expect(list.some((l) => l.includes(`https://${node(6).address}:2380`) && l.trim().endsWith("false"))).toBe(true);
    for (const i of [1, 2, 3, 6])
      expect((await inNode(node(i), ["cat", "/etc/haproxy/haproxy.cfg"])).stdout).toContain(`${node(6).address}:6443`);
  });

  it("removes a control plane (the spec keeps 3): one etcd member fewer, the LBs drop it, the VIP keeps answering", async () => {
    const holders: string[] = [];
    for (const i of [1, 2, 3, 6])
      if ((await inNode(node(i), ["ip", "-4", "-o", "addr"])).stdout.includes(`${lab.vips[0]}/`))
        holders.push(node(i).name);
    const victim = ["node-2", "node-3"].find((n) => !holders.includes(n)) as string;
    const victimAddress = lab.nodes.find((n) => n.name === victim)?.address as string;
    const run = await hactl(dir, ["remove-node", victim, "-f", spec, "--yes"]);
    expect(run.code, outputs(run)).toBe(0);
    const list = await members(1);
    expect(list).toHaveLength(3);
    expect(list.join("\n")).not.toContain(victimAddress);
    const nodes = await inNode(node(1), ["kubectl", "--kubeconfig", "/etc/kubernetes/admin.conf", "get", "nodes"]);
    expect(nodes.stdout).not.toContain(victim);
    for (const n of [node(1), node(2), node(3), node(6)].filter((x) => x.name !== victim)) {
      expect((await inNode(n, ["cat", "/etc/haproxy/haproxy.cfg"])).stdout).not.toContain(`${victimAddress}:6443`);
    }
    await expect.poll(() => probeLivez(lab.vips[0] as string, 7443), { timeout: 30_000 }).toBe(true);
    expect(readFileSync(spec, "utf8")).not.toContain(`name: ${victim}`);
  });

  it("status reports the remaining control planes as etcd members", async () => {
    const run = await hactl(dir, ["status", "-f", spec, "--output", "json"]);
    const report = reportDocument<{ nodes: { name: string; datastore: string }[]; healthy: boolean }>(run);
    expect(report.nodes.filter((n) => n.datastore === "etcd member").length, run.stdout + run.stderr).toBe(3);
    expect(report.nodes.find((n) => n.name === "node-4")?.datastore).toBe("-");
  });
});
