import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { execFile } from "node:child_process";
import { labClusterYaml } from "../lab/cluster-yaml.mjs";
import { inNode, labDown, labUp, PROFILES, sshArgs, stopNode, type Lab, type LabNode } from "../lab/lab.mjs";
import { hactl, workdir, writeSpec } from "./hactl.js";

// Issue 17, parts 1 and 4: MicroK8s workers reach the API through the load balancer, and a server that
// accepts only a password at first ends up reachable by key. One lab, one install (3 control planes,
// 1 worker, VIP); node-5 is the password-only server, added later.
const PROVIDER = "/var/snap/microk8s/current/args/traefik/provider.yaml";
const PROXY_ARGS = "/var/snap/microk8s/current/args/apiserver-proxy";
const PROXY = "snap.microk8s.daemon-apiserver-proxy";
const PASSWORD_ENV = "HACTL_LAB_NODE5_PASSWORD";

let lab: Lab;
let dir: string;
let spec: string;
let endpoint: string;
const node = (i: number): LabNode => lab.nodes[i - 1] as LabNode;
const out = (r: { stdout: string; stderr: string }): string => `${r.stdout}\n${r.stderr}`;

/** kubectl on a worker as its own services use it: the kubeconfig's server is the local proxy, 127.0.0.1:16443. */
const workerKubectl = (i: number): ReturnType<typeof inNode> =>
  inNode(node(i), ["kubectl", "--kubeconfig", "/var/snap/microk8s/current/credentials/client.config", "get", "nodes"]);

/** Providers in the format MicroK8s' join writes (what a worker had before hactl, or after a hand edit). */
const providerFor = (servers: string[]): string =>
  [
    "tcp:",
    "  routers:",
    "    Router-1:",
    "      rule: HostSNI(`*`)",
    "      service: kube-apiserver",
    "      tls:",
    "        passthrough: true",
    "  services:",
    "    kube-apiserver:",
    "      loadBalancer:",
    "        servers:",
    ...servers.map((s) => `        - address: ${s}`),
    "",
  ].join("\n");

async function setProvider(i: number, servers: string[]): Promise<void> {
  const r = await inNode(node(i), ["sh", "-c", `cat > ${PROVIDER} && systemctl restart ${PROXY}`], {
    input: providerFor(servers),
  });
  expect(r.code, out(r)).toBe(0);
}

function ssh(i: number, extra: string[] = []): Promise<number> {
  return new Promise((resolve) =>
    execFile("ssh", ["-o", "PasswordAuthentication=no", ...extra, ...sshArgs(node(i)), "true"], (err) =>
      resolve(err ? 1 : 0),
    ),
  );
}

beforeAll(async () => {
  lab = await labUp({
    nodes: 5,
    profiles: [PROFILES.plain, PROFILES.plain, PROFILES.plain, PROFILES.plain, PROFILES.passwordOnly],
  });
  dir = workdir("workers-vip");
  spec = writeSpec(dir, labClusterYaml(lab, { controlPlanes: 3, workers: 1 }));
  endpoint = `${lab.vips[0]}:7443`;
  const run = await hactl(dir, ["install", "-f", spec, "--yes"]);
  expect(run.code, out(run)).toBe(0);
});

afterAll(async () => {
  await labDown();
});

describe("MicroK8s workers through the VIP", () => {
  it("points the worker's proxy only at the VIP with refresh off, keeping backups of what the join wrote", async () => {
    const provider = (await inNode(node(4), ["cat", PROVIDER])).stdout;
    expect(provider).toBe(providerFor([endpoint]));
    const args = (await inNode(node(4), ["cat", PROXY_ARGS])).stdout;
    expect(args.match(/--refresh-interval.*/g)).toEqual(["--refresh-interval 0s"]);
    expect(args).toContain("--kubeconfig ${SNAP_DATA}/credentials/kubelet.config");
    expect((await inNode(node(4), ["cat", `${PROVIDER}.hactl-bak`])).stdout).toBe(
      providerFor([`${node(1).address}:16443`]),
    );
    expect((await inNode(node(4), ["systemctl", "is-active", PROXY])).code).toBe(0);
    expect((await workerKubectl(4)).stdout).toMatch(/node-4\s+Ready/);
  });

  it("reports a worker whose proxy points elsewhere as drift", async () => {
    await setProvider(4, [`${node(2).address}:16443`]);
    const status = await hactl(dir, ["status", "-f", spec]);
    expect(status.code, out(status)).toBe(6);
    expect(status.stdout).toContain(
      `node-4: its API proxy sends to ${node(2).address}:16443, refresh interval 0s, not only to ${endpoint}`,
    );
  });
});

describe("a password-only server added with add-node", () => {
  it("logs in with its password once and gets the operator's key; the same converge puts node-4's proxy back", async () => {
    expect(await ssh(5), "node-5 must refuse the lab key before hactl").not.toBe(0);
    const password = node(5).rootPassword as string;
    const text = labClusterYaml(lab, { controlPlanes: 3, workers: 1 }).replace(
      "  loadBalancer:",
      `    - { name: node-5, address: ${node(5).address}, role: worker, ssh: { password: { env: ${PASSWORD_ENV} }, installKey: ${lab.sshKey}.pub } }\n  loadBalancer:`,
    );
    writeSpec(dir, text);
    const first = await hactl(dir, ["add-node", "node-5", "-f", spec, "--yes"], { env: { [PASSWORD_ENV]: password } });
    expect(first.code, out(first)).toBe(0);
    expect(first.stdout).toMatch(/node-5.*key from .* added to ~root\/\.ssh\/authorized_keys/);
    for (const t of [first.stdout, first.stderr, first.log]) expect(t).not.toContain(password);
    expect(await ssh(5)).toBe(0);
    const modes = await inNode(node(5), ["stat", "-c", "%a %U", "/root/.ssh", "/root/.ssh/authorized_keys"]);
    expect(modes.stdout.trim().split("\n")).toEqual(["700 root", "600 root"]);
    expect((await inNode(node(5), ["cat", PROVIDER])).stdout).toBe(providerFor([endpoint]));
    expect(first.stdout).toMatch(/node-4.*API proxy to 10\.77\.0\.\d+:7443/);
    expect((await inNode(node(4), ["cat", PROVIDER])).stdout).toBe(providerFor([endpoint]));
  });

  it("a re-run of install without the password reaches node-5 by key and changes nothing", async () => {
    const again = await hactl(dir, ["install", "-f", spec, "--yes"], { env: { [PASSWORD_ENV]: "" } });
    expect(again.code, out(again)).toBe(0);
    expect(again.stdout).toMatch(/node-5.*already in ~root\/\.ssh\/authorized_keys/);
    expect(again.stdout).toContain("Nothing to do: the cluster already matches cluster.yaml.");
    expect((await inNode(node(5), ["grep", "-c", "ssh-ed25519", "/root/.ssh/authorized_keys"])).stdout.trim()).toBe(
      "1",
    );
  });
});

describe("with the first control plane stopped", () => {
  it("the worker's kubectl still answers through its proxy and the VIP, and would not through node-1 alone", async () => {
    await stopNode(node(1));
    let last = await workerKubectl(4);
    for (let i = 0; i < 30 && last.code !== 0; i++) {
      await new Promise((r) => setTimeout(r, 500));
      last = await workerKubectl(4);
    }
    expect(last.code, out(last)).toBe(0);
    expect(last.stdout).toMatch(/node-4\s+Ready/);
    // the same worker with the list MicroK8s' join wrote (node-1 only) has no API: the proxy is what answers
    await setProvider(4, [`${node(1).address}:16443`]);
    const cut = await workerKubectl(4);
    expect(cut.code).toBe(1);
    expect(cut.stderr).toContain("Unable to connect to the server: EOF");
  });
});
