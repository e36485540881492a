import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { labClusterYaml } from "../lab/cluster-yaml.mjs";
import { inNode, labDown, labUp, type Lab, type LabNode } from "../lab/lab.mjs";
import type { CertsReport } from "../../src/phases/certs.js";
import { hactl, workdir, writeSpec, reportDocument } from "./hactl.js";
import { ageCertificate, hactlInterrupted, isLostAtVipMove, isReset, requestLoop, servedDaysLeft } from "./lab-tls.js";

let lab: Lab;
let dir: string;
let spec: string;
const node = (i: number): LabNode => lab.nodes[i - 1] as LabNode;
const CERTS = "/var/snap/microk8s/current/certs";
const API_PORT = 7443;

async function ageServerCert(i: number, days: number): Promise<void> {
  await ageCertificate(
    node(i).name,
    `${CERTS}/server.crt`,
    `${CERTS}/server.key`,
    { crt: `${CERTS}/ca.crt`, key: `${CERTS}/ca.key` },
    days,
  );
}

/** Every control plane's haproxy.cfg lists (or not) the node's API as a backend. */
async function backendEverywhere(i: number): Promise<boolean[]> {
  const seen: boolean[] = [];
  for (const cp of [1, 2, 3])
    seen.push(
      (await inNode(node(cp), ["cat", "/etc/haproxy/haproxy.cfg"])).stdout.includes(`${node(i).address}:16443`),
    );
  return seen;
}

beforeAll(async () => {
  lab = await labUp({ nodes: 4 });
  dir = workdir("certs");
  spec = writeSpec(dir, labClusterYaml(lab, { controlPlanes: 3, workers: 1 }));
  const run = await hactl(dir, ["install", "-f", spec, "--yes"]);
  expect(run.code, `${run.stdout}\n${run.stderr}`).toBe(0);
});

afterAll(async () => {
  await labDown();
});

describe("hactl certs (MicroK8s)", () => {
  it("check on a fresh cluster: every node's certificates, a year for the server ones, exit 0", async () => {
    const run = await hactl(dir, ["certs", "check", "-f", spec, "-o", "json"]);
    expect(run.code, run.stderr).toBe(0);
    const report = reportDocument<CertsReport>(run);
    expect(report?.healthy).toBe(true);
    for (const cp of ["node-1", "node-2", "node-3"]) {
      const mine = report?.certificates
        .filter((c) => c.node === cp)
        .map((c) => c.certificate)
        .sort();
      expect(mine).toEqual([
        "ca.crt",
        "cluster.crt",
        "front-proxy-ca.crt",
        "front-proxy-client.crt",
        "kubelet.crt",
        "server.crt",
      ]);
    }
    const server = report?.certificates.find((c) => c.node === "node-2" && c.certificate === "server.crt");
    expect(server?.daysLeft).toBeGreaterThanOrEqual(363);
    expect(server?.daysLeft).toBeLessThanOrEqual(365);
    expect(report?.certificates.some((c) => c.node === "node-4" && c.certificate === "kubelet.crt")).toBe(true);
    // The real tool's own view agrees on the days left.
    const tool = await inNode(node(2), ["microk8s", "refresh-certs", "--check"]);
    expect(tool.stdout).toContain(`The server certificate will expire in ${server?.daysLeft ?? -1} days.`);
  });

  it("a server certificate aged to 10 days: check exits 6 naming the node and the certificate", async () => {
    await ageServerCert(1, 10);
    const run = await hactl(dir, ["certs", "check", "-f", spec]);
    expect(run.code).toBe(6);
    expect(run.stdout).toMatch(/✗ node-1: server\.crt \(apiserver\) expires in (9|10) days/);
    expect(run.stdout).toContain("Renew with: hactl certs renew");
  });

  it("renew replaces it with node-1 (the VIP holder) out of service, and not one request through the VIP fails", async () => {
    expect((await inNode(node(1), ["ip", "-4", "-o", "addr"])).stdout).toContain(`${lab.vips[0] ?? ""}/`);
    const dry = await hactl(dir, ["certs", "renew", "-f", spec, "--dry-run"]);
    expect(dry.code, dry.stderr).toBe(0);
    expect(dry.stdout).toContain("microk8s refresh-certs --cert server.crt");
    expect(dry.stdout).not.toMatch(/node-2: renew|node-3: renew/);

    const loop = requestLoop(lab.vips[0] as string, API_PORT);
    const started = Date.now();
    const run = await hactl(dir, ["certs", "renew", "-f", spec, "--yes"]);
    const seconds = (Date.now() - started) / 1000;
    const traffic = await loop.stop();
    expect(run.code, `${run.stdout}\n${run.stderr}`).toBe(0);
    console.log(
      `certs renew (1 control plane, the VIP holder) took ${seconds.toFixed(1)} s; requests through the VIP: ${traffic.ok} ok, ${traffic.failed} failed`,
    );
    // node-1 hands the VIP over once: a connection in flight at that instant is reset by the new holder,
    // which knows nothing of it (VRRP moves an address, not connections). Nothing else may fail.
    expect(traffic.errors.filter((e) => !isReset(e))).toEqual([]);
    expect(traffic.errors.length).toBeLessThanOrEqual(1);
    expect(traffic.ok).toBeGreaterThan(20);
    for (const phase of [
      "Take node-1 out of service",
      "node-1 hands the VIP over",
      "Renew node-1's certificates",
      "node-1's API answers",
      "Put node-1 back in service",
      "API through the load balancer",
    ]) {
      expect(run.stdout).toContain(`==> ${phase}`);
    }
    expect(run.stdout).toMatch(/✓ node-1 +wait until node-1 no longer holds the VIP [\d.]+\n/);
    expect(await servedDaysLeft("node-2", node(1).address, 16443)).toBeGreaterThanOrEqual(363);
    expect(await backendEverywhere(1)).toEqual([true, true, true]);
    const check = await hactl(dir, ["certs", "check", "-f", spec]);
    expect(check.code, check.stdout).toBe(0);
    const again = await hactl(dir, ["certs", "renew", "-f", spec, "--yes"]);
    expect(again.code).toBe(0);
    expect(again.stdout).toContain("Nothing to do");
  });

  it("Ctrl-C during a renewal leaves the node out of service; the next run puts it back", async () => {
    await ageServerCert(3, 10);
    await inNode(node(3), ["sh", "-c", "echo '{\"refresh-certs\": 4000}' > /var/lib/hactl-kit/cost.json"]);
    try {
      const cut = await hactlInterrupted(
        dir,
        ["certs", "renew", "-f", spec, "--yes"],
        /==> Renew node-3's certificates/,
      );
      expect(cut.interrupted).toBe(true);
      expect(cut.code, `${cut.stdout}\n${cut.stderr}`).toBe(130);
      expect(cut.stderr).toMatch(/Run the same command again/);
      expect(await backendEverywhere(3)).toEqual([false, false, false]);
      const holders = (await inNode(node(3), ["ip", "-4", "-o", "addr"])).stdout;
      expect(holders).not.toContain(`${lab.vips[0] ?? ""}/`);

      const loop = requestLoop(lab.vips[0] as string, API_PORT);
      const resumed = await hactl(dir, ["certs", "renew", "-f", spec, "--yes"]);
      const traffic = await loop.stop();
      expect(resumed.code, `${resumed.stdout}\n${resumed.stderr}`).toBe(0);
      console.log(`resumed certs renew: requests through the VIP: ${traffic.ok} ok, ${traffic.failed} failed`);
      expect(traffic.errors).toEqual([]);
      expect(await backendEverywhere(3)).toEqual([true, true, true]);
      expect(await servedDaysLeft("node-1", node(3).address, 16443)).toBeGreaterThanOrEqual(363);
      expect((await hactl(dir, ["certs", "check", "-f", spec])).code).toBe(0);
    } finally {
      await inNode(node(3), ["rm", "-f", "/var/lib/hactl-kit/cost.json"]);
    }
  });

  it("--ca: refused without a confirmation; with --yes a new CA on every control plane, one at a time, no request refused", async () => {
    const caOf = async (i: number): Promise<string> =>
      (
        await inNode(node(i), ["openssl", "x509", "-noout", "-fingerprint", "-sha256", "-in", `${CERTS}/ca.crt`])
      ).stdout.trim();
    const before = await caOf(1);
    const refused = await hactl(dir, ["certs", "renew", "--ca", "-f", spec]);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/every worker must leave and re-join/);
    expect(await caOf(1)).toBe(before);

    const loop = requestLoop(lab.vips[0] as string, API_PORT);
    const run = await hactl(dir, ["certs", "renew", "--ca", "-f", spec, "--yes"]);
    const traffic = await loop.stop();
    expect(run.code, `${run.stdout}\n${run.stderr}`).toBe(0);
    console.log(
      `certs renew --ca (3 control planes): requests through the VIP: ${traffic.ok} ok, ${traffic.failed} failed`,
    );
    // Each control plane in turn leaves the VIP; a connection in flight at the instant the VIP moves is lost
    // (VRRP moves an address, not connections): reset by the new holder, or unanswered when its packets still
    // reached the old one. The renewals themselves refuse nothing: at most one such loss per move, no other
    // error.
    expect(traffic.errors.filter((e) => !isLostAtVipMove(e))).toEqual([]);
    expect(traffic.errors.length).toBeLessThanOrEqual(3);
    const after = await caOf(1);
    expect(after).not.toBe(before);
    expect([await caOf(2), await caOf(3)]).toEqual([after, after]);
    for (const i of [1, 2, 3]) {
      const verify = await inNode(node(1), [
        "sh",
        "-c",
        `openssl s_client -connect ${node(i).address}:16443 -CAfile ${CERTS}/ca.crt -verify_return_error </dev/null 2>&1 | grep "Verify return code"`,
      ]);
      // TLS 1.3: s_client prints its session block again for every session ticket, each with the result
      const results = verify.stdout
        .split("\n")
        .map((l) => l.trim())
        .filter(Boolean);
      expect(results.length, `node-${i}`).toBeGreaterThan(0);
      expect(new Set(results), `node-${i}`).toEqual(new Set(["Verify return code: 0 (ok)"]));
    }
    expect(run.stderr).toContain("node-4 still trusts the old CA: re-join it");
    expect(run.stdout).not.toMatch(/BEGIN (EC )?PRIVATE KEY/);
    expect(run.log).not.toMatch(/BEGIN (EC )?PRIVATE KEY/);
  });

  it("status shows the soonest expiry", async () => {
    const run = await hactl(dir, ["status", "-f", spec]);
    expect(run.stdout).toMatch(/soonest certificate expiry: node-\d \S+ on \d{4}-\d{2}-\d{2} \(\d+ days\)/);
  });
});
