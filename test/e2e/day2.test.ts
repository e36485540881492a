import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { execFile } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { labClusterYaml, labSecretEnv } from "../lab/cluster-yaml.mjs";
import { inNode, labDown, labUp, startNode, stopNode, type Lab, type LabNode } from "../lab/lab.mjs";
import { probeLivez } from "../../src/actions/verify-api.js";
import { hactl, reportDocument, workdir, writeSpec } from "./hactl.js";
import { requestLoop } from "./lab-tls.js";

let lab: Lab;
let dir: string;
let spec: string;
const node = (i: number): LabNode => lab.nodes[i - 1] as LabNode;

async function datastore(): Promise<string> {
  return (await inNode(node(1), ["microk8s", "status", "--format", "yaml"])).stdout;
}

beforeAll(async () => {
  // the mixed host profiles: ens18, sshd on 2222, silent resolvers, docker0 addresses, ops sudo, enp1s0
  lab = await labUp({ nodes: 5, profiles: "mixed" });
  dir = workdir("day2");
  spec = writeSpec(dir, labClusterYaml(lab, { controlPlanes: 3, workers: 0 }));
  const run = await hactl(dir, ["install", "-f", spec, "--yes"], { env: labSecretEnv(lab) });
  expect(run.code, `${run.stdout}\n${run.stderr}`).toBe(0);
});

afterAll(async () => {
  await labDown();
});

describe("day-2 membership", () => {
  it("adds a 4th control plane: it becomes standby and every load balancer gets it; a second run is refused by the lock meanwhile", async () => {
    const adding = hactl(
      dir,
      ["add-node", "node-4", "--address", node(4).address, "--role", "control-plane", "-f", spec, "--yes"],
      { env: labSecretEnv(lab) },
    );
    await new Promise((r) => setTimeout(r, 4000));
    const second = await hactl(
      dir,
      ["add-node", "node-5", "--address", node(5).address, "--role", "worker", "-f", spec, "--yes"],
      { env: labSecretEnv(lab) },
    );
    expect(second.code).toBe(5);
    expect(second.stderr).toMatch(/another hactl run holds the cluster lock/);
    const run = await adding;
    expect(run.code, `${run.stdout}\n${run.stderr}`).toBe(0);
    expect(await datastore()).toMatch(new RegExp(`address: ${node(4).address}:19001\\s+role: standby`));
    for (const i of [1, 2, 3, 4]) {
      const cfg = await inNode(node(i), ["cat", "/etc/haproxy/haproxy.cfg"]);
      for (const j of [1, 2, 3, 4]) expect(cfg.stdout).toContain(`${node(j).address}:16443`);
      expect((await inNode(node(i), ["systemctl", "is-active", "keepalived"])).code).toBe(0);
    }
    expect(readFileSync(spec, "utf8")).toContain("name: node-4");
  });

  it("adds a worker from a terminal, asking once, after showing the plan", async () => {
    const steps = join(dir, "add-node-steps.json");
    writeFileSync(steps, JSON.stringify([{ expect: "Apply this plan to \\d+ machines\\?", send: "y\r" }]));
    const hactlBin = fileURLToPath(new URL("../../bin/hactl", import.meta.url));
    const driver = fileURLToPath(new URL("../unit/wizard/pty-drive.py", import.meta.url));
    const args = [
      steps,
      "--",
      process.execPath,
      hactlBin,
      "add-node",
      "node-5",
      "--address",
      node(5).address,
      "--role",
      "worker",
      "-f",
      spec,
    ];
    const run = await new Promise<{ code: number; out: string }>((resolve) => {
      const env = { ...process.env, ...labSecretEnv(lab), XDG_STATE_HOME: join(dir, "state"), NO_COLOR: "1" };
      execFile(
        "python3",
        [driver, ...args],
        { cwd: dir, env, timeout: 300_000, maxBuffer: 16 * 1024 * 1024 },
        (err, stdout, stderr) => {
          resolve({ code: err ? (typeof err.code === "number" ? err.code : 1) : 0, out: `${stdout}${stderr}` });
        },
      );
    });
    expect(run.code, run.out).toBe(0);
    // one confirmation, however often the prompt redraws it while it is answered
    expect(run.out).toMatch(/Apply this plan to \d+ machines\? \(Y\/n\)/);
    expect(run.out).not.toMatch(/[?✔] (?!Apply this plan)[^\n?]*\? \((?:Y\/n|y\/N)\)/);
    expect(run.out).not.toMatch(/Join node-5 to the cluster/);
    expect(run.out.indexOf("node-5: join as worker")).toBeLessThan(run.out.indexOf("Apply this plan"));
    const nodes = await inNode(node(1), ["microk8s", "kubectl", "get", "nodes"]);
    expect(nodes.stdout).toMatch(/node-5\s+Ready/);
  });

  it("status --output json reports a stopped node NotReady and the VIP holder", async () => {
    await stopNode("node-5");
    try {
      await new Promise((r) => setTimeout(r, 12_000));
      const run = await hactl(dir, ["status", "-f", spec, "--output", "json"], { env: labSecretEnv(lab) });
      expect(run.code).toBe(6);
      const report = reportDocument<{
        healthy: boolean;
        nodes: { name: string; ready: boolean }[];
        vip: { holders: string[] };
      }>(run);
      expect(report.healthy).toBe(false);
      expect(report.nodes.find((n) => n.name === "node-5")?.ready).toBe(false);
      const holders: string[] = [];
      for (const i of [1, 2, 3, 4])
        if ((await inNode(node(i), ["ip", "-4", "-o", "addr"])).stdout.includes(`${lab.vips[0]}/`))
          holders.push(node(i).name);
      expect(report.vip.holders).toEqual(holders);
      expect(holders).toHaveLength(1);
    } finally {
      await startNode("node-5");
    }
  });

  it("refuses to remove a node while another control plane is down, and changes nothing", async () => {
    await stopNode("node-3");
    try {
      const before = await datastore();
      const run = await hactl(dir, ["remove-node", "node-2", "-f", spec, "--yes"], { env: labSecretEnv(lab) });
      expect(run.code).toBe(3);
      expect(run.stderr).toMatch(/node-3.*(unhealthy|not reachable)/);
      expect(await datastore()).toBe(before);
      expect(readFileSync(spec, "utf8")).toContain("name: node-2");
    } finally {
      await startNode("node-3");
    }
  });

  it("removes a healthy control plane while requests through the VIP keep succeeding", async () => {
    await expect.poll(() => probeLivez(lab.vips[0] as string, 7443), { timeout: 30_000 }).toBe(true);
    const holders: string[] = [];
    for (const i of [1, 2, 3, 4])
      if ((await inNode(node(i), ["ip", "-4", "-o", "addr"])).stdout.includes(`${lab.vips[0]}/`))
        holders.push(node(i).name);
    const victim = ["node-2", "node-3", "node-4"].find((n) => !holders.includes(n)) as string;
    const dry = await hactl(dir, ["remove-node", victim, "-f", spec, "--dry-run", "-o", "json"], {
      env: labSecretEnv(lab),
    });
    expect(dry.code, dry.stderr).toBe(0);
    const planned = JSON.stringify(
      dry.stdout
        .split("\n")
        .filter(Boolean)
        .map((l) => JSON.parse(l) as unknown),
    );
    expect(planned).toContain('"dryRun":true');
    expect(planned).toContain(`"node":"${victim}"`);
    expect(readFileSync(spec, "utf8")).toContain(`name: ${victim}`);
    const loop = requestLoop(lab.vips[0] as string, 7443, 100, 2000, 2000);
    const run = await hactl(dir, ["remove-node", victim, "-f", spec, "--yes"], { env: labSecretEnv(lab) });
    const traffic = await loop.stop();
    expect(run.code, `${run.stdout}\n${run.stderr}`).toBe(0);
    expect(traffic.ok).toBeGreaterThan(5);
    expect(traffic.errors, `${run.stdout}\n${run.stderr}`).toEqual([]);
    const victimAddress = lab.nodes.find((n) => n.name === victim)?.address as string;
    expect(await datastore()).not.toContain(`${victimAddress}:19001`);
    for (const n of lab.nodes.slice(0, 4).filter((x) => x.name !== victim)) {
      const cfg = await inNode(n, ["cat", "/etc/haproxy/haproxy.cfg"]);
      expect(cfg.stdout).not.toContain(`${victimAddress}:16443`);
    }
    expect(readFileSync(spec, "utf8")).not.toContain(`name: ${victim}`);
  });

  it("remove-node --force removes a stopped node from the remaining members", async () => {
    await stopNode("node-5");
    const run = await hactl(dir, ["remove-node", "node-5", "--force", "-f", spec, "--yes"], { env: labSecretEnv(lab) });
    expect(run.code, `${run.stdout}\n${run.stderr}`).toBe(0);
    const nodes = await inNode(node(1), ["microk8s", "kubectl", "get", "nodes"]);
    expect(nodes.stdout).not.toContain("node-5");
    expect(run.stdout).toMatch(/If node-5 ever comes back/);
  });
});
