import { statSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { labClusterYaml, labSecretEnv } from "../lab/cluster-yaml.mjs";
import { inNode, labDown, labUp, type Lab, type LabNode } from "../lab/lab.mjs";
import { hactl, workdir, writeSpec } from "./hactl.js";
import { copyToJumpHost, NO_NODE_PATH, singleFileHactl, withoutNode } from "./single-file.js";

let lab: Lab;
let dir: string;
let single: string[];

beforeAll(async () => {
  const [up, exe] = await Promise.all([labUp({ nodes: 3 }), singleFileHactl()]);
  lab = up;
  dir = workdir("airgap");
  single = withoutNode(copyToJumpHost(exe, dir));
}, 180_000);

afterAll(async () => {
  await labDown();
});

describe("the single-file hactl on a jump host without Node.js", () => {
  it("runs with no node on PATH and no node_modules, and installs the demo cluster", async () => {
    const env = { ...labSecretEnv(lab), ...NO_NODE_PATH };
    const version = await hactl(dir, ["--version"], { command: single, env });
    expect(version.code, version.stderr).toBe(0);
    expect(version.stdout.trim()).toBe("0.1.0");
    expect(statSync(single[single.length - 1] ?? "").size).toBeGreaterThan(50 * 2 ** 20);

    const spec = writeSpec(dir, labClusterYaml(lab, { name: "demo", web: true }));
    const run = await hactl(dir, ["install", "-f", spec, "--yes", "--kubeconfig", `${dir}/demo.kubeconfig`], { command: single, env });
    expect(run.code, `${run.stdout}\n${run.stderr}`).toBe(0);
    expect(run.stdout).toMatch(/3\/3 nodes Ready, high availability on/);
    expect(run.stdout).toMatch(/API answers through https:\/\/10\.77\.0\.\d+:\d+/);
    const haproxy = await inNode(lab.nodes[0] as LabNode, ["cat", "/etc/haproxy/haproxy.cfg"]);
    // the built-in templates came from inside the file
    expect(haproxy.stdout).toContain("option httpchk GET /readyz");
  });
});
