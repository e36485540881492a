import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readFileSync } from "node:fs";
import { labClusterYaml } from "../lab/cluster-yaml.mjs";
import { inNode, labDown, labUp, type Lab, type LabNode } from "../lab/lab.mjs";
import type { CertsReport } from "../../src/phases/certs.js";
import { LAB_CNI, hactl, reportDocument, workdir, writeSpec } from "./hactl.js";
import { ageCertificate, isLostAtVipMove, requestLoop, servedDaysLeft } from "./lab-tls.js";

/* kubeadm with stacked etcd, 3 control planes behind keepalived/haproxy and a worker (node-4): certs check
 * reads `kubeadm certs check-expiration`, renew runs `kubeadm certs renew all` and restarts the control
 * plane; renew --ca replaces the CAs on every node, after which a new worker (node-5) joins. */

let lab: Lab;
let dir: string;
let spec: string;
const node = (i: number): LabNode => lab.nodes[i - 1] as LabNode;
const PKI = "/etc/kubernetes/pki";
const STAGE_DIR = "/var/lib/hactl/ca-rotation-kubeadm";
/** The sha256 fingerprint of the cluster CA once renew --ca replaced it. */
let newCa = "";
const fingerprint = async (i: number, file: string): Promise<string> =>
  (await inNode(node(i), ["openssl", "x509", "-noout", "-fingerprint", "-sha256", "-in", file])).stdout.trim();
/** The fingerprint of the (first) CA in a kubeconfig's certificate-authority-data on node i. */
const kubeconfigCa = async (i: number, file: string): Promise<string> =>
  (
    await inNode(node(i), [
      "sh",
      "-c",
      `grep -m1 certificate-authority-data ${file} | awk '{print $2}' | base64 -d | openssl x509 -noout -fingerprint -sha256`,
    ])
  ).stdout.trim();

beforeAll(async () => {
  lab = await labUp({ nodes: 5 });
  dir = workdir("certs-kubeadm");
  const cni = writeSpec(dir, LAB_CNI, "cni.yaml");
  spec = writeSpec(
    dir,
    labClusterYaml(lab, { distribution: "kubeadm", controlPlanes: 3, workers: 1 }).replace(
      '    version: "1.29"',
      `    version: "1.32"\n    cni: { manifest: ${cni} }`,
    ),
  );
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
    expect(mine.map((c) => c.certificate)).toEqual(
      expect.arrayContaining(["apiserver", "etcd-server", "etcd-peer", "ca", "etcd-ca"]),
    );
    expect(mine.find((c) => c.certificate === "apiserver")?.daysLeft).toBeGreaterThanOrEqual(363);
    expect(mine.find((c) => c.certificate === "ca")?.daysLeft).toBeGreaterThan(3000);
  });

  it("an API server certificate aged to 10 days: exit 6; renew with node-2 out of service, no failed request; then exit 0", async () => {
    await ageCertificate(
      node(2).name,
      `${PKI}/apiserver.crt`,
      `${PKI}/apiserver.key`,
      { crt: `${PKI}/ca.crt`, key: `${PKI}/ca.key` },
      10,
    );
    const check = await hactl(dir, ["certs", "check", "-f", spec]);
    expect(check.code).toBe(6);
    expect(check.stdout).toMatch(/✗ node-2: apiserver \(apiserver\) expires in (9|10) days/);
    const loop = requestLoop(lab.vips[0] as string, 7443);
    const started = Date.now();
    const run = await hactl(dir, ["certs", "renew", "-f", spec, "--yes"]);
    const seconds = (Date.now() - started) / 1000;
    const traffic = await loop.stop();
    expect(run.code, `${run.stdout}\n${run.stderr}`).toBe(0);
    console.log(
      `kubeadm certs renew (1 control plane) took ${seconds.toFixed(1)} s; requests through the VIP: ${traffic.ok} ok, ${traffic.failed} failed`,
    );
    expect(traffic.errors).toEqual([]);
    expect(run.stdout).toContain("==> Take node-2 out of service");
    expect(await servedDaysLeft("node-1", node(2).address, 6443)).toBeGreaterThanOrEqual(363);
    expect(
      (await inNode(node(2), ["ls", "/etc/kubernetes/manifests"])).stdout.split("\n").filter(Boolean),
    ).toHaveLength(4);
    expect((await hactl(dir, ["certs", "check", "-f", spec])).code).toBe(0);
    expect((await hactl(dir, ["certs", "renew", "-f", spec, "--yes"])).stdout).toContain("Nothing to do");
  });

  it("--ca: refused without --yes; with --yes new CAs everywhere, one control plane at a time, no request refused, the new admin kubeconfig works, the old CA is refused", async () => {
    const first = fingerprint;
    const count = async (i: number, file: string): Promise<number> =>
      Number((await inNode(node(i), ["grep", "-c", "BEGIN CERTIFICATE", file])).stdout.trim());
    const kubectlWith = async (kubeconfig: string, ...args: string[]) => {
      await inNode(node(1), ["sh", "-c", "umask 077; cat > /tmp/ca-test.kubeconfig"], { input: kubeconfig });
      return inNode(node(1), ["kubectl", "--kubeconfig", "/tmp/ca-test.kubeconfig", ...args]);
    };
    const before = { ca: await first(1, `${PKI}/ca.crt`), etcd: await first(1, `${PKI}/etcd/ca.crt`) };
    const oldCaPem = (await inNode(node(1), ["cat", `${PKI}/ca.crt`])).stdout;
    const oldAdmin = (await inNode(node(1), ["cat", "/etc/kubernetes/admin.conf"])).stdout;
    expect((await kubectlWith(oldAdmin, "get", "nodes")).code).toBe(0);

    const refused = await hactl(dir, ["certs", "renew", "--ca", "-f", spec]);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/needs a confirmation; nothing was changed/);
    expect(refused.stderr).toMatch(/kubeconfigs with a client certificate of the old CA/);
    expect(await first(1, `${PKI}/ca.crt`)).toBe(before.ca);

    const dry = await hactl(dir, ["certs", "renew", "--ca", "-f", spec, "--dry-run"]);
    expect(dry.code, dry.stderr).toBe(0);
    expect(dry.stdout).toContain("Trust both CAs on node-2");
    expect(await first(1, `${PKI}/ca.crt`)).toBe(before.ca);

    // The kit's etcd and kubelets log every TLS rejection: a wrong order (a certificate of the new CA
    // before every peer trusts it) shows up there even when the end state is right.
    const LOGS = ["/var/log/hactl-kit/etcd.log", "/var/log/hactl-kit/agent.log"];
    const lines = async (i: number, log: string): Promise<number> =>
      Number((await inNode(node(i), ["sh", "-c", `cat ${log} 2>/dev/null | wc -l`])).stdout.trim());
    const logStart = await Promise.all([1, 2, 3, 4].map(async (i) => Promise.all(LOGS.map((l) => lines(i, l)))));
    // Who holds the VIP, every half second: each move may reset one connection in flight.
    const vip = lab.vips[0] as string;
    let watching = true;
    const holders: string[] = [];
    const watch = (async () => {
      while (watching) {
        const held = await Promise.all(
          [1, 2, 3].map(async (i) =>
            (await inNode(node(i), ["ip", "-4", "-o", "addr"])).stdout.includes(`${vip}/`) ? node(i).name : "",
          ),
        );
        const now = held.filter(Boolean).join(",");
        if (now && holders[holders.length - 1] !== now) holders.push(now);
        await new Promise((r) => setTimeout(r, 500));
      }
    })();
    const loop = requestLoop(vip, 7443);
    const started = Date.now();
    const run = await hactl(dir, ["certs", "renew", "--ca", "-f", spec, "--yes"]);
    const seconds = (Date.now() - started) / 1000;
    const traffic = await loop.stop();
    watching = false;
    await watch;
    expect(run.code, `${run.stdout}\n${run.stderr}`).toBe(0);
    const moves = holders.length - 1;
    console.log(
      `kubeadm certs renew --ca (3 control planes) took ${seconds.toFixed(1)} s; requests through the VIP: ${traffic.ok} ok, ${traffic.failed} failed (${traffic.errors.join("; ") || "none"}); VIP moves: ${moves}`,
    );
    expect(traffic.errors.filter((e) => !isLostAtVipMove(e))).toEqual([]);
    expect(traffic.errors.length).toBeLessThanOrEqual(moves);
    expect(run.stdout).not.toMatch(/BEGIN (EC |RSA )?PRIVATE KEY/);
    expect(run.log).not.toMatch(/BEGIN (EC |RSA )?PRIVATE KEY/);

    for (const i of [1, 2, 3, 4]) {
      for (const [k, log] of LOGS.entries()) {
        const since = `tail -n +${(logStart[i - 1]?.[k] ?? 0) + 1} ${log} 2>/dev/null | grep -E "bad certificate|unknown authority|kubelet: " || true`;
        expect(
          (await inNode(node(i), ["sh", "-c", since])).stdout,
          `node-${i} ${log}: TLS rejections during the rotation`,
        ).toBe("");
      }
    }
    const after = { ca: await first(1, `${PKI}/ca.crt`), etcd: await first(1, `${PKI}/etcd/ca.crt`) };
    expect(after.ca).not.toBe(before.ca);
    expect(after.etcd).not.toBe(before.etcd);
    newCa = after.ca;
    expect(await first(4, `${PKI}/ca.crt`), "worker node-4").toBe(after.ca);
    expect(await count(4, `${PKI}/ca.crt`), "worker node-4: old CA dropped").toBe(1);
    expect(await kubeconfigCa(4, "/etc/kubernetes/kubelet.conf"), "worker node-4's kubelet").toBe(after.ca);
    expect((await inNode(node(4), ["ls", STAGE_DIR])).code, "node-4: staged CA removed").not.toBe(0);
    for (const i of [1, 2, 3]) {
      expect([await first(i, `${PKI}/ca.crt`), await first(i, `${PKI}/etcd/ca.crt`)], `node-${i}`).toEqual([
        after.ca,
        after.etcd,
      ]);
      expect(
        [await count(i, `${PKI}/ca.crt`), await count(i, `${PKI}/etcd/ca.crt`)],
        `node-${i}: old CAs dropped`,
      ).toEqual([1, 1]);
      const verify = await inNode(node(1), [
        "sh",
        "-c",
        `openssl s_client -connect ${node(i).address}:6443 -CAfile ${PKI}/ca.crt -verify_return_error </dev/null 2>&1 | grep "Verify return code"`,
      ]);
      // s_client prints the code once per session (TLS 1.3 may show two): every one must be 0.
      expect(verify.stdout, `node-${i} serves a certificate of the new CA`).toContain("Verify return code: 0 (ok)");
      expect(verify.stdout, `node-${i}`).not.toMatch(/Verify return code: [1-9]/);
      expect((await inNode(node(i), ["ls", STAGE_DIR])).code, `node-${i}: staged CAs removed`).not.toBe(0);
    }
    const exported = readFileSync(`${dir}/lab.kubeconfig`, "utf8");
    const nodes = await kubectlWith(exported, "get", "nodes");
    expect(nodes.code, nodes.stderr).toBe(0);
    expect(nodes.stdout.match(/ Ready /g)).toHaveLength(4);
    const old = await kubectlWith(oldAdmin, "get", "nodes");
    expect(old.code).toBe(1);
    expect(old.stderr).toMatch(/certificate signed by unknown authority|Unauthorized/);
    await inNode(node(1), ["sh", "-c", "cat > /tmp/old-ca.crt"], { input: oldCaPem });
    const oldTrust = await inNode(node(1), [
      "sh",
      "-c",
      `openssl s_client -connect ${node(2).address}:6443 -CAfile /tmp/old-ca.crt -verify_return_error </dev/null 2>&1 | grep "Verify return code"`,
    ]);
    expect(oldTrust.stdout).not.toContain("0 (ok)");
    expect((await hactl(dir, ["certs", "check", "-f", spec])).code).toBe(0);
  }, 900_000);

  it("after the rotation add-node joins a worker: cluster-info carries the new CA, the join pins it, the new kubelet uses it", async () => {
    expect(newCa, "the --ca case ran").not.toBe("");
    const info = await inNode(node(1), [
      "sh",
      "-c",
      "kubectl --kubeconfig /etc/kubernetes/admin.conf -n kube-public get configmap cluster-info -o jsonpath='{.data.kubeconfig}' > /tmp/cluster-info.kubeconfig",
    ]);
    expect(info.code, info.stderr).toBe(0);
    expect(await kubeconfigCa(1, "/tmp/cluster-info.kubeconfig"), "cluster-info's CA").toBe(newCa);
    const started = Date.now();
    const run = await hactl(dir, [
      "add-node",
      "node-5",
      "--address",
      node(5).address,
      "--role",
      "worker",
      "-f",
      spec,
      "--yes",
    ]);
    console.log(`kubeadm add-node (worker) after the CA rotation took ${((Date.now() - started) / 1000).toFixed(1)} s`);
    expect(run.code, `${run.stdout}\n${run.stderr}`).toBe(0);
    expect(await fingerprint(5, `${PKI}/ca.crt`)).toBe(newCa);
    expect(await kubeconfigCa(5, "/etc/kubernetes/kubelet.conf")).toBe(newCa);
    const rejected = await inNode(node(5), [
      "sh",
      "-c",
      'grep -E "bad certificate|unknown authority|kubelet: " /var/log/hactl-kit/agent.log || true',
    ]);
    expect(rejected.stdout, "node-5's kubelet: TLS rejections").toBe("");
    const nodes = await inNode(node(1), ["kubectl", "--kubeconfig", "/etc/kubernetes/admin.conf", "get", "nodes"]);
    expect(nodes.stdout).toMatch(/node-5 +Ready/);
    expect(nodes.stdout.match(/ Ready /g)).toHaveLength(5);
  });

  it("reset --all: kubeadm reset on every node, hactl's files gone (haproxy.cfg as the package shipped it), nobody holds the VIP", async () => {
    const run = await hactl(dir, ["reset", "--all", "--confirm", "lab", "-f", spec, "--yes"]);
    expect(run.code, `${run.stdout}\n${run.stderr}`).toBe(0);
    const shipped = readFileSync("/etc/haproxy/haproxy.cfg", "utf8");
    for (const i of [1, 2, 3, 4, 5]) {
      const gone = await inNode(node(i), [
        "sh",
        "-c",
        "for f in /etc/kubernetes /etc/keepalived/keepalived.conf /etc/sysctl.d/k8s.conf /etc/modules-load.d/k8s.conf /etc/sysctl.d/60-hactl-loadbalancer.conf /etc/haproxy/haproxy.cfg.hactl-orig; do [ -e $f ] && echo $f; done; true",
      ]);
      expect(gone.stdout, `node-${i}`).toBe("");
      expect((await inNode(node(i), ["cat", "/etc/haproxy/haproxy.cfg"])).stdout).toBe(shipped);
      expect((await inNode(node(i), ["ip", "-4", "-o", "addr"])).stdout).not.toContain(`${lab.vips[0] ?? ""}/`);
      expect((await inNode(node(i), ["systemctl", "is-active", "kubelet"])).stdout.trim()).not.toBe("active");
    }
  });
});
