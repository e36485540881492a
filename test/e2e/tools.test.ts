// The commands around a running cluster, against real nodes: kubeconfig (own file and --merge), ssh
// through the system client with cluster.yaml's settings, and version -f.
import { execFile } from "node:child_process";
import { mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { labClusterYaml } from "../lab/cluster-yaml.mjs";
import { labDown, labUp, type Lab } from "../lab/lab.mjs";
import { DEFAULT_K8S_MINOR } from "../../src/spec/k8s-versions.js";
import { hactl, reportDocument, workdir, writeSpec } from "./hactl.js";
import { livezWith, type Kubeconfig } from "./kubeconfig-check.js";

let lab: Lab;
let dir: string;
let spec: string;

beforeAll(async () => {
  lab = await labUp({ nodes: 3 });
  dir = workdir("tools");
  spec = writeSpec(
    dir,
    labClusterYaml(lab, { name: "shop", controlPlanes: 3 }).replace(
      'version: "1.29"',
      `version: "${DEFAULT_K8S_MINOR}"`,
    ),
  );
  const run = await hactl(dir, ["install", "-f", spec, "--yes"]);
  expect(run.code, `${run.stdout}\n${run.stderr}`).toBe(0);
});

afterAll(async () => {
  await labDown();
});

describe("hactl kubeconfig", () => {
  it("writes the admin kubeconfig again, 0600, named after the cluster, pointing at the VIP, and it works", async () => {
    const out = join(dir, "again.kubeconfig");
    writeFileSync(out, "stale\n", { mode: 0o644 });
    const run = await hactl(dir, ["kubeconfig", "-f", spec, "--out", out]);
    expect(run.code, `${run.stdout}\n${run.stderr}`).toBe(0);
    expect(statSync(out).mode & 0o777).toBe(0o600);
    const k = parse(readFileSync(out, "utf8")) as Kubeconfig;
    expect(k.clusters.map((c) => [c.name, c.cluster.server])).toEqual([["shop", `https://${lab.vips[0]}:7443`]]);
    expect(k.contexts).toEqual([{ name: "shop", context: { cluster: "shop", user: "shop-admin" } }]);
    expect(k["current-context"]).toBe("shop");
    expect(await livezWith(k)).toBe(200);
    const token = k.users[0]?.user.token ?? "";
    expect(token.length).toBeGreaterThan(4);
    expect(run.stdout + run.stderr + run.log).not.toContain(token);
  });

  it("--merge adds the cluster to ~/.kube/config and leaves the other entries as they were", async () => {
    const home = join(dir, "home");
    mkdirSync(join(home, ".kube"), { recursive: true });
    const existing = [
      "# my clusters",
      "apiVersion: v1",
      "kind: Config",
      "current-context: dev",
      "clusters:",
      "  - name: dev",
      "    cluster: { server: 'https://127.0.0.1:6443', insecure-skip-tls-verify: true }",
      "users:",
      "  - name: dev",
      "    user:",
      "      exec: { apiVersion: client.authentication.k8s.io/v1beta1, command: dev-login, args: [--quiet] }",
      "contexts:",
      "  - name: dev",
      "    context: { cluster: dev, user: dev, namespace: team }",
      "",
    ].join("\n");
    writeFileSync(join(home, ".kube", "config"), existing, { mode: 0o644 });
    const first = await hactl(dir, ["kubeconfig", "-f", spec, "--merge"], { env: { HOME: home } });
    expect(first.code, `${first.stdout}\n${first.stderr}`).toBe(0);
    expect(first.stdout).toContain("kubectl config use-context shop");
    const second = await hactl(dir, ["kubeconfig", "-f", spec, "--merge", "-o", "json"], { env: { HOME: home } });
    expect(second.code, second.stderr).toBe(0);
    const result = second.stdout
      .split("\n")
      .filter(Boolean)
      .map((l) => JSON.parse(l) as { type: string; data?: { replaced: string[] } })
      .find((e) => e.type === "result");
    expect(result?.data?.replaced).toEqual(["clusters", "users", "contexts"]);
    const file = join(home, ".kube", "config");
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const text = readFileSync(file, "utf8");
    expect(text.startsWith("# my clusters\n")).toBe(true);
    const merged = parse(text) as Kubeconfig;
    const before = parse(existing) as Kubeconfig;
    expect(merged.clusters.map((c) => c.name)).toEqual(["dev", "shop"]);
    expect(merged.clusters[0]).toEqual(before.clusters[0]);
    expect(merged.users[0]).toEqual(before.users[0]);
    expect(merged.contexts[0]).toEqual(before.contexts[0]);
    expect(merged["current-context"]).toBe("dev");
    expect(merged.clusters[1]?.cluster.server).toBe(`https://${lab.vips[0]}:7443`);
  });
});

describe("hactl ssh", () => {
  it("runs a command on a node with cluster.yaml's key, known_hosts and user, and passes its exit status on", async () => {
    const run = await hactl(dir, ["ssh", "node-2", "-f", spec, "--", "hostname"]);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toBe("node-2\n");
    const failing = await hactl(dir, ["ssh", "node-3", "-f", spec, "--", "exit 3"]);
    expect(failing.code).toBe(3);
    const unknown = await hactl(dir, ["ssh", "node-9", "-f", spec, "--", "true"]);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain("node-9 is not a node or load-balancer host in cluster.yaml");
  });
});

describe("hactl version -f", () => {
  it("reports every node's MicroK8s version as one JSON document", async () => {
    const run = await hactl(dir, ["version", "-f", spec, "-o", "json"]);
    expect(run.code, run.stderr).toBe(0);
    const data = reportDocument<{
      hactl: string;
      cluster: { nodes: { name: string; installed: boolean; version: string; channel: string }[] };
    }>(run);
    const doc = { data };
    expect(doc.data.hactl).toMatch(/^\d+\.\d+\.\d+/);
    expect(doc.data.cluster.nodes.map((n) => [n.name, n.installed, n.channel])).toEqual(
      ["node-1", "node-2", "node-3"].map((n) => [n, true, `${DEFAULT_K8S_MINOR}/stable`]),
    );
    expect(doc.data.cluster.nodes.every((n) => n.version.startsWith(`v${DEFAULT_K8S_MINOR}.`))).toBe(true);
  });
});

describe("hactl init with interface discovery through a pseudo-terminal", () => {
  it("lists the nodes' interfaces, ends the connect spinner with ✓, and draws the interface choice on a quiet screen", async () => {
    const driver = fileURLToPath(new URL("../unit/wizard/pty-drive.py", import.meta.url));
    const bin = fileURLToPath(new URL("../../bin/hactl", import.meta.url));
    const home = join(dir, "wizard-home");
    mkdirSync(home, { recursive: true });
    const steps = [
      { expect: "Cluster name", send: "\r" },
      { expect: "Kubernetes distribution", send: "\r" },
      { expect: "microk8s version", send: "\r" },
      { expect: "How many nodes", send: "\r" },
      { expect: "Same SSH login", send: "\r" },
      { expect: "Every node: SSH user", send: "\r" },
      { expect: "Every node: how does hactl log in", send: "\u001b[B\r" },
      { expect: "Every node: private key file", send: `\u0015${lab.sshKey}\r` },
      ...lab.nodes.slice(0, 3).flatMap((n, i) => [
        { expect: `Node ${i + 1} of 3: name`, send: "\r" },
        { expect: `node-${i + 1}: address`, send: `${n.address}\r` },
      ]),
      { expect: "Nodes that log in differently", send: "\r" },
      { expect: "Load balancer in front", send: "\r" },
      { expect: "Port of the Kubernetes API", send: "\r" },
      { expect: "Virtual IP", send: `${lab.vips[1] ?? ""}\r` },
      { expect: "Interface that carries the VIP", send: "\u0003", settle: 1.2, snapshot: "interface" },
    ];
    writeFileSync(join(dir, "wizard-steps.json"), JSON.stringify(steps));
    const snapshots = join(dir, "wizard-screens.json");
    const env = {
      ...process.env,
      HOME: home,
      XDG_STATE_HOME: join(dir, "state"),
      SSH_AUTH_SOCK: "",
      TERM: "xterm-256color",
    };
    const args = [
      driver,
      join(dir, "wizard-steps.json"),
      "--snapshots",
      snapshots,
      "--",
      process.execPath,
      bin,
      "--accept-new-host-keys",
      "init",
      "--out",
      join(dir, "wizard.yaml"),
    ];
    const code = await new Promise<number>((resolve) => {
      execFile("python3", args, { env, timeout: 120_000 }, (err, stdout, stderr) => {
        if (err && typeof err.code !== "number") console.error(stdout, stderr);
        resolve(err ? (typeof err.code === "number" ? err.code : 1) : 0);
      });
    });
    expect(code).toBe(130);
    const screen = (JSON.parse(readFileSync(snapshots, "utf8")) as Record<string, string[]>).interface ?? [];
    const shown = screen.join("\n");
    expect(shown).toMatch(/✓ Connect to 3 machines: interfaces listed/);
    expect(shown).toMatch(/eth0 \(on all 3, carries their addresses\)/);
    expect(shown).not.toMatch(/[⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏]/);
    expect(shown).toContain("Interface that carries the VIP");
  }, 150_000);
});
