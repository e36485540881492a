import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readFileSync } from "node:fs";
import { labClusterYaml } from "../lab/cluster-yaml.mjs";
import { inNode, labDown, labUp, type Lab, type LabNode } from "../lab/lab.mjs";
import type { CertsReport } from "../../src/phases/certs.js";
import { LAB_CNI, hactl, reportDocument, workdir, writeSpec } from "./hactl.js";
import { ageCertificate, requestLoop, servedDaysLeft } from "./lab-tls.js";

/* kubeadm with stacked etcd, 3 control planes behind keepalived/haproxy: certs check reads
 * `kubeadm certs check-expiration`, renew runs `kubeadm certs renew all` and restarts the control plane. */

let lab: Lab;
let dir: string;
let spec: string;
const node = (i: number): LabNode => lab.nodes[i - 1] as LabNode;
const PKI = "/etc/kubernetes/pki";

beforeAll(async () => {
  lab = await labUp({ nodes: 3 });
  dir = workdir("certs-kubeadm");
  const cni = writeSpec(dir, LAB_CNI, "cni.yaml");
  spec = writeSpec(dir, labClusterYaml(lab, { distribution: "kubeadm", controlPlanes: 3, workers: 0 }).replace('    version: "1.29"', `    version: "1.32"\n    cni: { manifest: ${cni} }`));
  const run = await hactl(dir, ["install", "-f", spec, "--yes"]);
  expect(run.code, `${run.stdout}\n${run.stderr}`).toBe(0);
});

afterAll(async () => {
  await labDown();
});

describe("hactl certs (kubeadm)", () => {
  it("check reads kubeadm's own table: the API server's certificate has a year, the CAs ten", async () => {
    const run = await hactl(dir, ["certs", "check", "-f", spec, "-o", "json"]);
    expect(run.code, run.stderr).toBe(0);
    const report = reportDocument<CertsReport>(run);
    const mine = report?.certificates.filter((c) => c.node === "node-2") ?? [];
    expect(mine.map((c) => c.certificate)).toEqual(expect.arrayContaining(["apiserver", "etcd-server", "etcd-peer", "ca", "etcd-ca"]));
    expect(mine.find((c) => c.certificate === "apiserver")?.daysLeft).toBeGreaterThanOrEqual(363);
    expect(mine.find((c) => c.certificate === "ca")?.daysLeft).toBeGreaterThan(3000);
  });

  it("an API server certificate aged to 10 days: exit 6; renew with node-2 out of service, no failed request; then exit 0", async () => {
    await ageCertificate(node(2).name, `${PKI}/apiserver.crt`, `${PKI}/apiserver.key`, { crt: `${PKI}/ca.crt`, key: `${PKI}/ca.key` }, 10);
    const check = await hactl(dir, ["certs", "check", "-f", spec]);
    expect(check.code).toBe(6);
    expect(check.stdout).toMatch(/✗ node-2: apiserver \(apiserver\) expires in (9|10) days/);
    const loop = requestLoop(lab.vips[0] as string, 7443);
    const started = Date.now();
    const run = await hactl(dir, ["certs", "renew", "-f", spec, "--yes"]);
    const seconds = (Date.now() - started) / 1000;
    const traffic = await loop.stop();
    expect(run.code, `${run.stdout}\n${run.stderr}`).toBe(0);
    console.log(`kubeadm certs renew (1 control plane) took ${seconds.toFixed(1)} s; requests through the VIP: ${traffic.ok} ok, ${traffic.failed} failed`);
    expect(traffic.errors).toEqual([]);
    expect(run.stdout).toContain("==> Take node-2 out of service");
    expect(await servedDaysLeft("node-1", node(2).address, 6443)).toBeGreaterThanOrEqual(363);
    expect((await inNode(node(2), ["ls", "/etc/kubernetes/manifests"])).stdout.split("\n").filter(Boolean)).toHaveLength(4);
    expect((await hactl(dir, ["certs", "check", "-f", spec])).code).toBe(0);
    expect((await hactl(dir, ["certs", "renew", "-f", spec, "--yes"])).stdout).toContain("Nothing to do");
  });

  it("reset --all: kubeadm reset on every node, hactl's files gone (haproxy.cfg as the package shipped it), nobody holds the VIP", async () => {
    const run = await hactl(dir, ["reset", "--all", "--confirm", "lab", "-f", spec, "--yes"]);
    expect(run.code, `${run.stdout}\n${run.stderr}`).toBe(0);
    const shipped = readFileSync("/etc/haproxy/haproxy.cfg", "utf8");
    for (const i of [1, 2, 3]) {
      const gone = await inNode(node(i), ["sh", "-c", "for f in /etc/kubernetes /etc/keepalived/keepalived.conf /etc/sysctl.d/k8s.conf /etc/modules-load.d/k8s.conf /etc/sysctl.d/60-hactl-loadbalancer.conf /etc/haproxy/haproxy.cfg.hactl-orig; do [ -e $f ] && echo $f; done; true"]);
      expect(gone.stdout, `node-${i}`).toBe("");
      expect((await inNode(node(i), ["cat", "/etc/haproxy/haproxy.cfg"])).stdout).toBe(shipped);
      expect((await inNode(node(i), ["ip", "-4", "-o", "addr"])).stdout).not.toContain(`${lab.vips[0] ?? ""}/`);
      expect((await inNode(node(i), ["systemctl", "is-active", "kubelet"])).stdout.trim()).not.toBe("active");
    }
  });
});
