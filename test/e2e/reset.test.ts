import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readFileSync } from "node:fs";
import { labClusterYaml } from "../lab/cluster-yaml.mjs";
import { inNode, labDown, labUp, startNode, stopNode, type Lab, type LabNode } from "../lab/lab.mjs";
import { hactl, workdir, writeSpec } from "./hactl.js";

let lab: Lab;
let dir: string;
let spec: string;
const node = (i: number): LabNode => lab.nodes[i - 1] as LabNode;

/** Every file hactl writes on a node, and what the server looked like there: a content hash or "absent". */
const WATCHED = [
  "/etc/haproxy/haproxy.cfg",
  "/etc/haproxy/haproxy.cfg.hactl-bak",
  "/etc/haproxy/haproxy.cfg.hactl-orig",
  "/etc/keepalived/keepalived.conf",
  "/etc/keepalived/keepalived.conf.hactl-bak",
  "/etc/keepalived/check_haproxy.sh",
  "/etc/sysctl.d/60-hactl-loadbalancer.conf",
  "/etc/hosts",
  "/etc/hosts.hactl-bak",
  "/var/lib/hactl",
  "/var/snap/microk8s",
  "/usr/local/bin/microk8s",
];

const SNAPSHOT = `for f in "$@"; do
  if [ -d "$f" ]; then printf '%s dir %s\\n' "$f" "$(ls -A "$f" | wc -l)"
  elif [ -e "$f" ] || [ -L "$f" ]; then printf '%s %s\\n' "$f" "$(sha256sum < "$f" | cut -c1-16)"
  else printf '%s absent\\n' "$f"; fi
done
printf 'ip_nonlocal_bind %s\\n' "$(sysctl -n net.ipv4.ip_nonlocal_bind)"
for s in keepalived haproxy; do printf '%s %s\\n' "$s" "$(systemctl is-active $s)"; done`;

async function snapshot(i: number): Promise<string> {
  return (await inNode(node(i), ["sh", "-c", SNAPSHOT, "snapshot", ...WATCHED])).stdout;
}

const before = new Map<number, string>();

async function waitReady(name: string): Promise<void> {
  for (let i = 0; i < 60; i++) {
    const nodes = await inNode(node(1), ["microk8s", "kubectl", "get", "nodes"]);
    if (new RegExp(`${name}\\s+Ready`).test(nodes.stdout)) return;
    await new Promise((r) => setTimeout(r, 1000));
  }
  throw new Error(`${name} did not become Ready again`);
}

beforeAll(async () => {
  lab = await labUp({ nodes: 5 });
  for (const i of [1, 2, 3, 4, 5]) before.set(i, await snapshot(i));
  dir = workdir("reset");
  spec = writeSpec(dir, labClusterYaml(lab, { controlPlanes: 3, workers: 2 }));
  const run = await hactl(dir, ["install", "-f", spec, "--yes"]);
  expect(run.code, `${run.stdout}\n${run.stderr}`).toBe(0);
  // The install really changed the servers this test then checks file by file.
  expect(await snapshot(1)).not.toBe(before.get(1));
  expect(await snapshot(4)).not.toBe(before.get(4));
});

afterAll(async () => {
  await labDown();
});

describe("hactl reset", () => {
  it("refuses without a confirmation, with a wrong --confirm, and when the quorum guard says no; nothing changes", async () => {
    const installed = await snapshot(4);
    const noYes = await hactl(dir, ["reset", "node-4", "-f", spec]);
    expect(noYes.code).toBe(2);
    expect(noYes.stderr).toMatch(/needs a confirmation.*nothing was changed/s);
    const wrongName = await hactl(dir, ["reset", "--all", "--confirm", "other", "-f", spec, "--yes"]);
    expect(wrongName.code).toBe(2);
    expect(wrongName.stderr).toMatch(/--confirm must repeat its name/);
    expect(wrongName.stderr).toContain("hactl reset --all --confirm lab");
    const both = await hactl(dir, ["reset", "node-4", "--all", "--confirm", "lab", "-f", spec, "--yes"]);
    expect(both.code).toBe(2);
    // Exactly remove-node's refusal: the cluster would fall below 3 control planes.
    const lastThree = await hactl(dir, ["reset", "node-1", "-f", spec, "--yes"]);
    const removeNode = await hactl(dir, ["remove-node", "node-1", "-f", spec, "--dry-run"]);
    expect(lastThree.code).toBe(2);
    expect(lastThree.code).toBe(removeNode.code);
    expect(lastThree.stderr.split("\n")[0]).toBe(removeNode.stderr.split("\n")[0]);
    // remove-node's quorum guard: no removal while another control plane is down.
    await stopNode("node-2");
    try {
      await new Promise((r) => setTimeout(r, 9000));
      const quorum = await hactl(dir, ["reset", "node-4", "-f", spec, "--yes"]);
      expect(quorum.code, quorum.stderr).toBe(3);
      expect(quorum.stderr).toMatch(/refusing to remove node-4; nothing was changed/);
      expect(quorum.stderr).toMatch(/node-2.*(unhealthy|not reachable)/);
    } finally {
      await startNode("node-2");
    }
    await waitReady("node-2");
    expect(await snapshot(4)).toBe(installed);
    expect((await inNode(node(1), ["microk8s", "kubectl", "get", "nodes"])).stdout).toMatch(/node-4\s+Ready/);
    expect(readFileSync(spec, "utf8")).toContain("name: node-1");
  });

  it("resets a worker: out of the cluster and cluster.yaml, and its server as it was before hactl, file by file", async () => {
    const run = await hactl(dir, ["reset", "node-4", "-f", spec, "--yes"]);
    expect(run.code, `${run.stdout}\n${run.stderr}`).toBe(0);
    expect(run.stdout).toContain("node-4 is out of the cluster and back to a bare server.");
    expect(await snapshot(4)).toBe(before.get(4));
    expect((await inNode(node(1), ["microk8s", "kubectl", "get", "nodes"])).stdout).not.toContain("node-4");
    expect(readFileSync(spec, "utf8")).not.toContain("name: node-4");
    expect((await inNode(node(4), ["snap", "list", "microk8s"])).code).not.toBe(0);
    const again = await hactl(dir, ["reset", "node-4", "-f", spec, "--yes"]);
    expect(again.code).toBe(2);
    expect(again.stderr).toMatch(/node-4 is not in/);
  });

  it("--force takes a dead worker out of the cluster; once it is back, a second reset cleans its server", async () => {
    await stopNode("node-5");
    const run = await hactl(dir, ["reset", "node-5", "--force", "-f", spec, "--yes"]);
    expect(run.code, `${run.stdout}\n${run.stderr}`).toBe(0);
    expect(run.stderr).toContain("node-5 is not reachable: it is out of the cluster, but its server was not cleaned");
    expect(readFileSync(spec, "utf8")).not.toContain("name: node-5");
    expect((await inNode(node(1), ["microk8s", "kubectl", "get", "nodes"])).stdout).not.toContain("node-5");
    await startNode("node-5");
    await new Promise((r) => setTimeout(r, 3000));
    const back = await hactl(dir, ["reset", "node-5", "-f", spec, "--yes"]);
    expect(back.code, `${back.stdout}\n${back.stderr}`).toBe(0);
    expect(back.stdout).toContain("node-5 was already removed from the cluster by an earlier reset");
    expect(await snapshot(5)).toBe(before.get(5));
    expect((await inNode(node(1), ["microk8s", "kubectl", "get", "nodes"])).stdout).not.toContain("node-5");
  });

  it("--all --dry-run prints the plan and changes nothing", async () => {
    const installed = await snapshot(1);
    const run = await hactl(dir, ["reset", "--all", "--confirm", "lab", "-f", spec, "--dry-run"]);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toContain("Stop the load balancers");
    expect(run.stdout).toContain("snap remove --purge microk8s");
    expect(await snapshot(1)).toBe(installed);
  });

  it("--all resets every node as it was, and nobody holds the VIP", async () => {
    const run = await hactl(dir, ["reset", "--all", "--confirm", "lab", "-f", spec, "--yes"]);
    expect(run.code, `${run.stdout}\n${run.stderr}`).toBe(0);
    for (const i of [1, 2, 3]) {
      expect(await snapshot(i), `node-${i}`).toBe(before.get(i));
      expect((await inNode(node(i), ["ip", "-4", "-o", "addr"])).stdout).not.toContain(`${lab.vips[0] ?? ""}/`);
    }
    expect(run.stdout).toMatch(/nobody holds 10\.77\.0\.\d+/);
    const again = await hactl(dir, ["reset", "--all", "--confirm", "lab", "-f", spec, "--yes"]);
    expect(again.code, again.stderr).toBe(0);
    for (const i of [1, 2, 3]) expect(await snapshot(i)).toBe(before.get(i));
  });
});
