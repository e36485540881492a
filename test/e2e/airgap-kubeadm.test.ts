import { execFileSync } from "node:child_process";
import { readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { labClusterYaml, labSecretEnv } from "../lab/cluster-yaml.mjs";
import { inNode, labDown, labUp, type Lab, type LabNode } from "../lab/lab.mjs";
import { bundleManifestSchema, nodeBundleDir, parseChecksumLine } from "../../src/bundle/manifest.js";
import { hactl, workdir, writeSpec, type HactlRun } from "./hactl.js";

/*
 * kubeadm from an offline bundle: hactl bundle on the workstation (its apt configured for pkgs.k8s.io
 * v1.32 through APT_CONFIG, the kit's apt-get download, dpkg-deb, kubeadm and ctr), then an install of 3
 * control planes and an add-node of a worker on nodes with no route out. Each node's kit records every
 * registry pull kubeadm would make for an image containerd lacks (store-fetches.log): there must be none.
 */

const kitWorkstation = fileURLToPath(new URL("../kit/workstation", import.meta.url));
const CNI = `apiVersion: apps/v1
kind: DaemonSet
metadata:
  name: lab-cni
  namespace: kube-system
spec:
  template:
    spec:
      containers:
        - name: cni
          image: docker.io/calico/cni:v3.27.3
        - name: node
          image: calico/node:v3.27.3
`;

let lab: Lab;
let dir: string;
let spec: string;
let bundle: string;
let aptConfig: string;
const node = (i: number): LabNode => lab.nodes[i - 1] as LabNode;

function outputs(run: HactlRun): string {
  return `${run.stdout}\n${run.stderr}\n${run.log}`;
}

/** The workstation's apt pointed at the pkgs.k8s.io repository of one minor, as APT_CONFIG names it. */
function aptFor(minor: string): string {
  const list = join(dir, `kubernetes-${minor}.list`);
  writeFileSync(
    list,
    `deb [signed-by=/etc/apt/keyrings/kubernetes-apt-keyring.gpg] https://pkgs.k8s.io/core:/stable:/v${minor}/deb/ /\n`,
  );
  const conf = join(dir, `apt-${minor}.conf`);
  writeFileSync(conf, `Dir::Etc::SourceList "${list}";\n`);
  return conf;
}

const workstationEnv = (conf: string): Record<string, string> => ({
  PATH: `${kitWorkstation}:${process.env.PATH ?? ""}`,
  APT_CONFIG: conf,
});

async function fetches(n: LabNode): Promise<string> {
  return (await inNode(n, ["sh", "-c", "cat /var/log/hactl-kit/store-fetches.log 2>/dev/null; true"])).stdout;
}

beforeAll(async () => {
  lab = await labUp({ nodes: 4 });
  dir = workdir("airgap-kubeadm");
  aptConfig = aptFor("1.32");
  const cni = writeSpec(dir, CNI, "cni.yaml");
  bundle = join(dir, "kubeadm-1.32.bundle");
  const text = labClusterYaml(lab, {
    distribution: "kubeadm",
    controlPlanes: 3,
    workers: 0,
    extra: `  airgap: { bundle: ${bundle} }`,
  }).replace('    version: "1.29"', `    version: "1.32"\n    cni: { manifest: ${cni} }`);
  spec = writeSpec(dir, text);
}, 180_000);

afterAll(async () => {
  await labDown();
});

describe("kubeadm offline bundle", () => {
  it("hactl bundle refuses when the workstation's apt offers another minor", async () => {
    const run = await hactl(dir, ["bundle", "-f", spec, "--out", join(dir, "wrong.bundle")], {
      env: workstationEnv(aptFor("1.31")),
    });
    expect(run.code, outputs(run)).not.toBe(0);
    expect(run.stderr).toMatch(/apt-get download fetched kubeadm 1\.31\.9-1\.1, .* not Kubernetes 1\.32/);
    expect(run.stderr).toContain("pkgs.k8s.io/core:/stable:/v1.32/deb/");
  });

  it("hactl bundle collects the packages, kubeadm's and the CNI's images and the CNI manifest, with sha256s", async () => {
    const started = Date.now();
    const run = await hactl(dir, ["bundle", "-f", spec, "--out", bundle], { env: workstationEnv(aptConfig) });
    expect(run.code, outputs(run)).toBe(0);
    console.log(`kubeadm bundle: ${statSync(bundle).size} bytes in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    const head = readFileSync(bundle).subarray(0, 64 * 1024);
    const size = parseInt(head.subarray(124, 136).toString("ascii").replace(/\0.*$/, "").trim(), 8);
    const manifest = bundleManifestSchema.parse(JSON.parse(head.subarray(512, 512 + size).toString("utf8")));
    expect(manifest.distribution).toEqual({ type: "kubeadm", version: "1.32", release: "v1.32.3" });
    const debs = manifest.files.filter((f) => f.kind === "deb").map((f) => f.of);
    for (const p of ["kubeadm", "kubelet", "kubectl", "cri-tools", "kubernetes-cni", "containerd", "runc"])
      expect(debs).toContain(p);
    const images = (of: string) => manifest.files.find((f) => f.kind === "images" && f.of === of)?.images;
    expect(images("kubernetes")).toContain("registry.k8s.io/kube-apiserver:v1.32.3");
    expect(images("kubernetes")).toContain("registry.k8s.io/pause:3.10");
    expect(images("cni")).toEqual(["docker.io/calico/cni:v3.27.3", "docker.io/calico/node:v3.27.3"]);
    expect(manifest.files.some((f) => f.kind === "cni-manifest")).toBe(true);
    expect(parseChecksumLine(readFileSync(`${bundle}.sha256`, "utf8"))).toMatch(/^[0-9a-f]{64}$/);
  });

  it("installs 3 control planes from the bundle on nodes with no route out: no registry pull, packages and images from files", async () => {
    for (const n of lab.nodes) expect((await inNode(n, ["ip", "route", "show", "default"])).stdout.trim()).toBe("");
    const started = Date.now();
    const run = await hactl(dir, ["install", "-f", spec, "--yes", "--kubeconfig", join(dir, "lab.kubeconfig")], {
      env: labSecretEnv(lab),
      timeoutMs: 600_000,
    });
    expect(run.code, outputs(run)).toBe(0);
    console.log(`kubeadm install of 3 control planes from the bundle: ${((Date.now() - started) / 1000).toFixed(1)} s`);
    expect(run.stdout).toMatch(/ok\s+workstation\s+bundle\s+kubeadm-1\.32\.bundle: kubeadm 1\.32 for linux\/amd64/);
    expect(run.stdout).toMatch(/3\/3 nodes Ready, 3\/3 control planes are etcd members/);
    const uploads = run.log.match(/\[node-\d\] bundle upload: \d+ of \d+ bytes sent in [\d.]+ s/g) ?? [];
    for (const line of uploads) console.log(line);
    expect(uploads).toHaveLength(3);
    for (const n of lab.nodes.slice(0, 3)) {
      expect(await fetches(n), n.name).toBe("");
      const images = await inNode(n, ["ctr", "-n", "k8s.io", "images", "ls", "-q"]);
      expect(images.stdout, n.name).toContain("registry.k8s.io/kube-apiserver:v1.32.3");
      expect(images.stdout, n.name).toContain("docker.io/calico/node:v3.27.3");
      expect((await inNode(n, ["kubeadm", "version", "-o", "short"])).stdout.trim()).toBe("v1.32.3");
    }
  }, 660_000);

  it("the node kit fails as apt and ctr do on a fresh node: a package whose dependency is missing, a truncated image archive", async () => {
    const member = (name: string): Buffer => execFileSync("tar", ["-xOf", bundle, name], { maxBuffer: 2 ** 30 });
    const containerd = (
      await inNode(node(1), ["sh", "-c", "ls /tmp/hactl-bundle-*/ | grep '^containerd_'"])
    ).stdout.trim();
    await inNode(node(4), ["sh", "-c", `mkdir -p /tmp/lone && cat > /tmp/lone/${containerd}`], {
      input: member(containerd),
    });
    const apt = await inNode(node(4), ["apt-get", "install", "-y", "--no-download", `/tmp/lone/${containerd}`]);
    expect(apt.code).toBe(100);
    expect(apt.stdout + apt.stderr).toContain("The following packages have unmet dependencies:");
    expect(apt.stdout + apt.stderr).toMatch(/ containerd : Depends: runc but it is not installable/);
    await inNode(node(4), ["sh", "-c", "cat > /tmp/lone/cut.tar"], {
      input: member("kubernetes-images.tar").subarray(0, 3_000_000),
    });
    const ctr = await inNode(node(4), ["ctr", "-n", "k8s.io", "images", "import", "/tmp/lone/cut.tar"]);
    expect(ctr.code).toBe(1);
    expect(ctr.stderr.trim()).toBe("ctr: unexpected EOF");
    expect((await inNode(node(4), ["ctr", "-n", "k8s.io", "images", "ls", "-q"])).stdout.trim()).toBe("");
    await inNode(node(4), ["rm", "-rf", "/tmp/lone"]);
  });

  it("add-node installs a worker from the same bundle (spec.airgap.bundle), resuming a cut upload", async () => {
    const sha = parseChecksumLine(readFileSync(`${bundle}.sha256`, "utf8")) ?? "";
    const partial = 4 * 2 ** 20;
    await inNode(
      node(4),
      ["sh", "-c", `mkdir -p -m 0700 "$(dirname "$1")" && cat > "$1"`, "sh", `${nodeBundleDir(sha)}/bundle.tar`],
      { input: readFileSync(bundle).subarray(0, partial) },
    );
    const run = await hactl(
      dir,
      ["add-node", "node-4", "--address", node(4).address, "--role", "worker", "-f", spec, "--yes"],
      { env: labSecretEnv(lab), timeoutMs: 300_000 },
    );
    expect(run.code, outputs(run)).toBe(0);
    const size = statSync(bundle).size;
    expect(run.log).toMatch(
      new RegExp(
        `\\[node-4\\] bundle upload: ${size - partial} of ${size} bytes sent in [\\d.]+ s \\(resumed at byte ${partial}\\)`,
      ),
    );
    for (const line of run.log.match(/\[node-4\] bundle upload: .*/g) ?? []) console.log(line);
    expect(await fetches(node(4))).toBe("");
    const nodes = await inNode(node(1), ["kubectl", "--kubeconfig", "/etc/kubernetes/admin.conf", "get", "nodes"]);
    expect(nodes.stdout).toMatch(/node-4\s+Ready/);
  }, 330_000);

  it("upgrade takes a bundle of the target minor: packages and images from its files on every node, nothing fetched", async () => {
    const next = join(dir, "kubeadm-1.33.bundle");
    const spec133 = writeSpec(
      dir,
      readFileSync(spec, "utf8").replace('version: "1.32"', 'version: "1.33"'),
      "c133.yaml",
    );
    const made = await hactl(dir, ["bundle", "-f", spec133, "--out", next], { env: workstationEnv(aptFor("1.33")) });
    expect(made.code, outputs(made)).toBe(0);
    const started = Date.now();
    const run = await hactl(dir, ["upgrade", "-f", spec, "--to", "1.33", "--bundle", next, "--skip-backup", "--yes"], {
      env: labSecretEnv(lab),
      timeoutMs: 600_000,
    });
    expect(run.code, outputs(run)).toBe(0);
    console.log(`offline kubeadm upgrade to 1.33 of 4 nodes: ${((Date.now() - started) / 1000).toFixed(1)} s`);
    expect(run.stdout).toContain("Every node runs Kubernetes (kubeadm) 1.33");
    for (const n of lab.nodes) {
      expect(await fetches(n), n.name).toBe("");
      expect((await inNode(n, ["kubeadm", "version", "-o", "short"])).stdout.trim()).toBe("v1.33.1");
    }
    const nodes = await inNode(node(1), ["kubectl", "--kubeconfig", "/etc/kubernetes/admin.conf", "get", "nodes"]);
    expect(nodes.stdout.match(/Ready\s+\S+\s+\S+\s+v1\.33\.1/g)).toHaveLength(4);
    const recorded = readFileSync(spec, "utf8");
    expect(recorded).toContain('version: "1.33"');
    expect(recorded).toContain(`bundle: ${next}`);
  }, 660_000);
});
