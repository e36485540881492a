// hactl kubeconfig and version -f on a kubeadm cluster: admin.conf read with sudo from a control plane,
// renamed after the cluster, pointing at the VIP; kubeadm's version on every node.
import { readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { labClusterYaml } from "../lab/cluster-yaml.mjs";
import { labDown, labUp, type Lab } from "../lab/lab.mjs";
import { hactl, workdir, writeSpec } from "./hactl.js";
import { livezWith, type Kubeconfig } from "./kubeconfig-check.js";

let lab: Lab;
let dir: string;
let spec: string;
const CNI = "apiVersion: apps/v1\nkind: DaemonSet\nmetadata:\n  name: lab-cni\n  namespace: kube-system\nspec: {}\n";

beforeAll(async () => {
  lab = await labUp({ nodes: 3 });
  dir = workdir("tools-kubeadm");
  const cni = writeSpec(dir, CNI, "cni.yaml");
  const text = labClusterYaml(lab, { name: "plant", distribution: "kubeadm", controlPlanes: 3 }).replace(
    '    version: "1.29"',
    `    version: "1.32"\n    cni: { manifest: ${cni} }`,
  );
  spec = writeSpec(dir, text);
  const run = await hactl(dir, ["install", "-f", spec, "--yes", "--kubeconfig", join(dir, "install.kubeconfig")], {
    timeoutMs: 900_000,
  });
  expect(run.code, `${run.stdout}\n${run.stderr}`).toBe(0);
}, 1_000_000);

afterAll(async () => {
  await labDown();
});

describe("tools on a kubeadm cluster", () => {
  it("kubeconfig: admin.conf again, named after the cluster, through the VIP, accepted by the API with its CA", async () => {
    const out = join(dir, "plant.kubeconfig");
    const run = await hactl(dir, ["kubeconfig", "-f", spec]);
    expect(run.code, `${run.stdout}\n${run.stderr}`).toBe(0);
    expect(statSync(out).mode & 0o777).toBe(0o600);
    const k = parse(readFileSync(out, "utf8")) as Kubeconfig;
    const installed = parse(readFileSync(join(dir, "install.kubeconfig"), "utf8")) as Kubeconfig;
    expect(k.clusters.map((c) => [c.name, c.cluster.server])).toEqual([["plant", `https://${lab.vips[0]}:7443`]]);
    expect(k.contexts).toEqual([{ name: "plant", context: { cluster: "plant", user: "plant-admin" } }]);
    expect(k.users[0]?.user).toEqual(installed.users[0]?.user);
    expect(k.clusters[0]?.cluster["certificate-authority-data"]).toBe(
      installed.clusters[0]?.cluster["certificate-authority-data"],
    );
    expect(await livezWith(k)).toBe(200);
  });

  it("version -f: kubeadm's version on every node", async () => {
    const run = await hactl(dir, ["version", "-f", spec]);
    expect(run.code, run.stderr).toBe(0);
    for (const n of ["node-1", "node-2", "node-3"])
      expect(run.stdout).toMatch(new RegExp(`${n}\\s+control-plane\\s+kubeadm v1\\.32\\.\\d+`));
    expect(run.stderr).toBe("");
  });
});
