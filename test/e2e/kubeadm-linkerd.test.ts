import { existsSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { homedir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { labClusterYaml } from "../lab/cluster-yaml.mjs";
import { inNode, labDown, labUp, type Lab, type LabNode } from "../lab/lab.mjs";
import { LAB_CNI, hactl, type HactlRun, workdir, writeSpec } from "./hactl.js";

/*
 * Linkerd on kubeadm: the operator's linkerd CLI runs on the workstation (the kit's stand-in, put on PATH
 * by this test) against the cluster's kubeconfig on the VIP; kubectl on a control plane applies what it
 * renders. 3 control planes and 1 worker (Linkerd's pods need a node without the control-plane taint).
 */

let lab: Lab;
let dir: string;
let spec: string;
const node = (i: number): LabNode => lab.nodes[i - 1] as LabNode;
const CLI = fileURLToPath(new URL("../kit/workstation/linkerd", import.meta.url));
/** A PATH with no linkerd on it (node's own directory first: the stand-in is a node script). */
const BARE_PATH = [dirname(process.execPath), "/usr/local/sbin", "/usr/sbin", "/usr/bin", "/sbin", "/bin"].join(":");
const ADMIN_KUBECTL = ["kubectl", "--kubeconfig", "/etc/kubernetes/admin.conf"];
const APP = JSON.stringify({
  apiVersion: "v1",
  kind: "List",
  items: [
    { apiVersion: "v1", kind: "Namespace", metadata: { name: "app" } },
    {
      apiVersion: "apps/v1",
      kind: "Deployment",
      metadata: { name: "web", namespace: "app" },
      spec: {
        replicas: 1,
        selector: { matchLabels: { app: "web" } },
        template: {
          metadata: { labels: { app: "web" } },
          spec: { containers: [{ name: "web", image: "registry.example/web:1" }] },
        },
      },
    },
  ],
});

function outputs(run: HactlRun): string {
  return `${run.stdout}\n${run.stderr}\n${run.log}`;
}

/** The environment of an operator whose linkerd is in `binDir` (or nowhere). */
function operatorEnv(binDir?: string): Record<string, string> {
  const cps = [1, 2, 3].map((i) => `http://${node(i).address}:12379`).join(",");
  return { PATH: binDir ? `${binDir}:${BARE_PATH}` : BARE_PATH, HACTL_KIT_ETCD_ENDPOINTS: cps };
}

async function kube(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return inNode(node(1), [...ADMIN_KUBECTL, ...args]);
}

async function injectAnnotation(): Promise<string | undefined> {
  const r = await kube(["get", "namespace", "app", "-o", "json"]);
  expect(r.code, r.stderr).toBe(0);
  return (JSON.parse(r.stdout) as { metadata: { annotations?: Record<string, string> } }).metadata.annotations?.[
    "linkerd.io/inject"
  ];
}

beforeAll(async () => {
  lab = await labUp({ nodes: 4 });
  dir = workdir("kubeadm-linkerd");
  const cni = writeSpec(dir, LAB_CNI, "cni.yaml");
  const text = labClusterYaml(lab, { distribution: "kubeadm", controlPlanes: 3, workers: 1 }).replace(
    '    version: "1.29"',
    `    version: "1.32"\n    cni: { manifest: ${cni} }`,
  );
  spec = writeSpec(dir, text);
  const install = await hactl(dir, ["install", "-f", spec, "--yes", "--kubeconfig", join(dir, "lab.kubeconfig")], {
    timeoutMs: 900_000,
  });
  expect(install.code, outputs(install)).toBe(0);
  const seeded = await inNode(node(1), [...ADMIN_KUBECTL, "apply", "-f", "-"], { input: APP });
  expect(seeded.code, seeded.stderr).toBe(0);
}, 1_000_000);

afterAll(async () => {
  await labDown();
});

describe("Linkerd on kubeadm through the workstation's CLI", () => {
  it("without a linkerd CLI on this machine, stops before any change with exit 3 and the way to install it", async () => {
    expect(existsSync(join(homedir(), ".linkerd2", "bin", "linkerd"))).toBe(false);
    const run = await hactl(dir, ["linkerd", "enable", "-f", spec, "--yes"], { env: operatorEnv() });
    expect(run.code, outputs(run)).toBe(3);
    expect(run.stderr).toContain("the Linkerd CLI is not installed on this machine");
    expect(run.stderr).toContain("https://run.linkerd.io/install-edge");
    expect(run.stderr).toContain("spec.linkerd.cli");
    expect((await kube(["get", "configmap", "linkerd-config", "-n", "linkerd", "-o", "name"])).stdout).toBe("");
    expect(await injectAnnotation()).toBeUndefined();
    expect(readFileSync(spec, "utf8")).not.toContain("linkerd:");
  });

  it("linkerd enable renders on the workstation, applies through a control plane, passes linkerd check and meshes the namespace", async () => {
    const bin = join(dir, "bin");
    mkdirSync(bin, { recursive: true });
    symlinkSync(CLI, join(bin, "linkerd"));
    const run = await hactl(dir, ["linkerd", "enable", "-f", spec, "--yes"], {
      env: operatorEnv(bin),
      timeoutMs: 300_000,
    });
    expect(run.code, outputs(run)).toBe(0);
    expect(run.log).toContain(`Linkerd CLI: ${join(bin, "linkerd")} (Client version: `);
    expect(outputs(run)).toContain("install the Linkerd CRDs");
    expect(outputs(run)).toContain("install the Linkerd control plane");
    expect((await kube(["get", "configmap", "linkerd-config", "-n", "linkerd", "-o", "name"])).stdout).toBe(
      "configmap/linkerd-config\n",
    );
    expect((await kube(["get", "crd", "servers.policy.linkerd.io", "-o", "name"])).code).toBe(0);
    expect(await injectAnnotation()).toBe("enabled");
    for (const i of [1, 2, 3, 4])
      expect((await inNode(node(i), ["sh", "-c", "command -v linkerd || echo absent"])).stdout).toBe("absent\n");
    expect(readFileSync(spec, "utf8")).toMatch(/linkerd:\n\s+enabled: true/);

    const again = await hactl(dir, ["linkerd", "enable", "-f", spec, "--yes"], { env: operatorEnv(bin) });
    expect(again.code, outputs(again)).toBe(0);
    expect(again.stdout).toContain("Nothing to do: the cluster already matches.");
  });

  it("linkerd disable with spec.linkerd.cli (not on PATH) unmeshes and uninstalls through kubectl delete", async () => {
    const own = join(dir, "tools");
    mkdirSync(own, { recursive: true });
    symlinkSync(CLI, join(own, "linkerd"));
    writeFileSync(
      spec,
      readFileSync(spec, "utf8").replace(
        /linkerd:\n(\s+)enabled: true/,
        (m, indent: string) => `${m}\n${indent}cli: ${join(own, "linkerd")}`,
      ),
    );
    const dry = await hactl(dir, ["linkerd", "disable", "-f", spec, "--dry-run"], { env: operatorEnv() });
    expect(dry.code, outputs(dry)).toBe(0);
    expect(dry.stdout).toContain(
      `linkerd uninstall (${join(own, "linkerd")} on this machine) | kubectl delete --ignore-not-found -f - on node-1`,
    );
    const run = await hactl(dir, ["linkerd", "disable", "-f", spec, "--yes"], {
      env: operatorEnv(),
      timeoutMs: 300_000,
    });
    expect(run.code, outputs(run)).toBe(0);
    expect(await injectAnnotation()).toBe("disabled");
    expect((await kube(["get", "configmap", "linkerd-config", "-n", "linkerd", "-o", "name"])).stdout).toBe("");
    expect(readFileSync(spec, "utf8")).toMatch(/linkerd:\n\s+enabled: false/);
  });
});
