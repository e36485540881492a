import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { labClusterYaml, labSecretEnv } from "../lab/cluster-yaml.mjs";
import { inNode, labDown, labUp, stopNode, startNode, type Lab, type LabNode } from "../lab/lab.mjs";
import { probeLivez, waitLivez } from "../../src/actions/verify-api.js";
import { hactl, workdir, writeSpec } from "./hactl.js";

let lab: Lab;
let dir: string;
let spec: string;
let env: Record<string, string>;

async function vipHolders(nodes: readonly LabNode[], vip: string): Promise<string[]> {
  const holders: string[] = [];
  for (const n of nodes) {
    const r = await inNode(n, ["ip", "-4", "-o", "addr", "show"]);
    if (r.stdout.includes(`${vip}/`)) holders.push(n.name);
  }
  return holders;
}

async function nodeState(n: LabNode): Promise<string> {
  const installed = await inNode(n, ["snap", "list", "microk8s"]);
  const cfg = await inNode(n, [
    "sh",
    "-c",
    "cat /etc/haproxy/haproxy.cfg /etc/keepalived/keepalived.conf /etc/hosts 2>/dev/null | sha256sum",
  ]);
  return `${installed.code}:${cfg.stdout.trim()}`;
}

beforeAll(async () => {
  // node-1 plain; node-2 ens18, sshd on 2222, a silent resolver; node-3 the ops user with password sudo, a
  // docker0 address, its own name unresolved; node-4 a silent resolver and a docker0 address
  lab = await labUp({ nodes: 4, profiles: "mixed" });
  env = labSecretEnv(lab);
  dir = workdir("install");
  spec = writeSpec(dir, labClusterYaml(lab, { controlPlanes: 3, workers: 1, web: true }));
});

afterAll(async () => {
  await labDown();
});

describe("hactl install (MicroK8s, keepalived + haproxy)", () => {
  it("--dry-run prints the plan per node and changes nothing on any node", async () => {
    const before = await Promise.all(lab.nodes.map(nodeState));
    const run = await hactl(dir, ["install", "-f", spec, "--dry-run", "--yes"], { env });
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toContain("Form the cluster (one node at a time, alongside the phase above)");
    expect(run.stdout).toMatch(/node-2: join as control-plane/);
    expect(run.stdout).toMatch(/node-4: join as worker/);
    const after = await Promise.all(lab.nodes.map(nodeState));
    expect(after).toEqual(before);
  });

  it("stops in preflight, before any change, when a required port is in use", async () => {
    const node2 = lab.nodes[1] as LabNode;
    await inNode(node2, [
      "sh",
      "-c",
      "setsid python3 -m http.server 25000 --bind 0.0.0.0 >/dev/null 2>&1 < /dev/null &",
    ]);
    try {
      await new Promise((r) => setTimeout(r, 800));
      const before = await Promise.all(lab.nodes.map(nodeState));
      const run = await hactl(dir, ["install", "-f", spec, "--yes"], { env });
      expect(run.code).toBe(3);
      expect(run.stdout).toMatch(/FAIL\s+node-2\s+ports\s+port\(s\) 25000 already in use/);
      expect(run.stderr).toContain("nothing was changed");
      expect(await Promise.all(lab.nodes.map(nodeState))).toEqual(before);
    } finally {
      await inNode(node2, ["pkill", "-f", "http.server 25000"]);
    }
  });

  it("installs 3 control planes + 1 worker, retrying a join whose token was consumed by a failure", async () => {
    const node3 = lab.nodes[2] as LabNode;
    await inNode(node3, [
      "sh",
      "-c",
      "mkdir -p /var/lib/hactl-kit/faults && touch /var/lib/hactl-kit/faults/fail-join-after-consume",
    ]);
    const run = await hactl(dir, ["install", "-f", spec, "--yes", "--kubeconfig", `${dir}/lab.kubeconfig`], { env });
    expect(run.code, `${run.stdout}\n${run.stderr}`).toBe(0);
    expect(run.log).toMatch(/\[node-3\] join attempt 1 failed/);
    expect(run.log).toMatch(/\[node-3\] join attempt 2\/3 with a fresh token/);
    // the silent resolvers cost a DNS warning, not a false clock failure
    expect(run.stdout).toMatch(
      /warn\s+node-2\s+dns\s+name lookups got no answer within 2 s \(resolver: 10\.77\.0\.253\)/,
    );
    expect(run.stdout).toMatch(/warn\s+node-4\s+dns/);
    expect(run.stdout).not.toMatch(/FAIL\s+\S+\s+clock/);

    const status = await inNode(lab.nodes[0] as LabNode, ["microk8s", "status", "--format", "yaml"]);
    expect(status.stdout).toMatch(/enabled: True/);
    expect(status.stdout.match(/role: voter/g)).toHaveLength(3);
    const nodes = await inNode(lab.nodes[0] as LabNode, ["microk8s", "kubectl", "get", "nodes"]);
    for (const n of lab.nodes) expect(nodes.stdout).toMatch(new RegExp(`${n.name}\\s+Ready`));

    const vip = lab.vips[0] as string;
    await expect.poll(() => vipHolders(lab.nodes.slice(0, 3), vip), { timeout: 15_000 }).toHaveLength(1);
    expect(await waitLivez(vip, 7443, 20_000)).toBe(true);
    for (const n of lab.nodes.slice(0, 3)) {
      const cfg = await inNode(n, ["cat", "/etc/haproxy/haproxy.cfg"]);
      for (const cp of lab.nodes.slice(0, 3)) expect(cfg.stdout).toContain(`${cp.address}:16443`);
    }
  });

  it("a second run changes nothing and says so", async () => {
    const before = await Promise.all(lab.nodes.map(nodeState));
    const run = await hactl(dir, ["install", "-f", spec, "--yes"], { env });
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toContain("Nothing to do: the cluster already matches cluster.yaml.");
    expect(await Promise.all(lab.nodes.map(nodeState))).toEqual(before);
  });

  it("moves the VIP when its holder stops, and the API still answers through it", async () => {
    const vip = lab.vips[0] as string;
    const [holder] = await vipHolders(lab.nodes.slice(0, 3), vip);
    expect(holder).toBeDefined();
    await stopNode(holder as string);
    try {
      const others = lab.nodes.slice(0, 3).filter((n) => n.name !== holder);
      await expect.poll(() => vipHolders(others, vip), { timeout: 20_000, interval: 500 }).toHaveLength(1);
      await expect.poll(() => probeLivez(vip, 7443), { timeout: 20_000, interval: 500 }).toBe(true);
    } finally {
      await startNode(holder as string);
    }
  });
});
