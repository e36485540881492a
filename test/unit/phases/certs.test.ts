import { describe, expect, it } from "vitest";
import type { CertObservation } from "../../../src/distros/certs.js";
import {
  certificateStatus,
  certsReport,
  expiryState,
  formatCertsReport,
  planRenewal,
} from "../../../src/phases/certs.js";
import { parseCaFacts, planCaRotation, type CaFacts } from "../../../src/phases/certs-ca.js";
import { renewCommands, renewableBy } from "../../../src/phases/certs-renew.js";
import { THREE_CP_ONE_WORKER, specFrom } from "../../fakes/spec.js";

const spec = specFrom(THREE_CP_ONE_WORKER);
const now = new Date("2026-06-01T00:00:00Z");
const inDays = (d: number): Date => new Date(now.getTime() + d * 86_400_000 + 3_600_000);
const cert = (name: string, kind: CertObservation["kind"], days: number): CertObservation => ({
  name,
  kind,
  path: `/certs/${name}`,
  notAfter: inDays(days),
});

function observed(server2: number): Map<string, CertObservation[]> {
  const cp = (server: number): CertObservation[] => [
    cert("ca.crt", "ca", 3000),
    cert("server.crt", "apiserver", server),
    cert("front-proxy-client.crt", "front-proxy", 364),
    cert("cluster.crt", "datastore", 3000),
  ];
  return new Map([
    ["node-1", cp(364)],
    ["node-2", cp(server2)],
    ["node-3", cp(364)],
    ["worker-1", [cert("kubelet.crt", "kubelet", 364)]],
  ]);
}

describe("certificate report", () => {
  it("states: ≤30 days expiring, under 90 warning, else ok", () => {
    expect([expiryState(30), expiryState(31), expiryState(89), expiryState(90)]).toEqual([
      "expiring",
      "warning",
      "warning",
      "ok",
    ]);
  });

  it("is healthy with everything a year away; the soonest expiry is named", () => {
    const r = certsReport(spec, observed(364), new Map(), now);
    expect(r.healthy).toBe(true);
    expect(r.problems).toEqual([]);
    expect(r.soonest?.daysLeft).toBe(364);
    expect(certificateStatus(r)).toEqual({
      notes: [
        `soonest certificate expiry: ${r.soonest?.node ?? ""} ${r.soonest?.certificate ?? ""} on ${r.soonest?.expires.slice(0, 10) ?? ""} (364 days)`,
      ],
      problems: [],
    });
  });

  it("names the node and certificate at 10 days, warns at 60, and counts an unreadable node as a problem", () => {
    const r = certsReport(spec, observed(10), new Map([["worker-1", "not reachable over SSH"]]), now);
    expect(r.healthy).toBe(false);
    expect(r.problems).toEqual([
      "node-2: server.crt (apiserver) expires in 10 days (2026-06-11)",
      "worker-1: certificates not read (not reachable over SSH)",
    ]);
    expect(r.soonest).toMatchObject({ node: "node-2", certificate: "server.crt", daysLeft: 10, state: "expiring" });
    expect(formatCertsReport(r)).toMatch(/node-2\s+server\.crt\s+apiserver\s+2026-06-11 01:00\s+10\s+expiring/);
    expect(certsReport(spec, observed(60), new Map(), now).warnings).toEqual([
      "node-2: server.crt (apiserver) expires in 60 days (2026-07-31)",
    ]);
  });
});

describe("renewal plan", () => {
  it("renews only the control plane whose server certificate is due; a fresh cluster plans nothing", () => {
    const due = planRenewal(spec, certsReport(spec, observed(10), new Map(), now), renewableBy("microk8s"));
    expect(due.targets.map((t) => [t.node.name, t.certificates.map((c) => c.certificate)])).toEqual([
      ["node-2", ["server.crt"]],
    ]);
    expect(
      renewCommands("microk8s", due.targets[0] as (typeof due.targets)[number]).map((c) => c.argv.join(" ")),
    ).toEqual(["microk8s refresh-certs --cert server.crt"]);
    expect(planRenewal(spec, certsReport(spec, observed(364), new Map(), now), renewableBy("microk8s"))).toEqual({
      targets: [],
      notRenewed: [],
    });
  });

  it("never renews a CA, and says what to do for certificates it does not renew", () => {
    const obs = observed(364);
    obs.set("node-1", [cert("ca.crt", "ca", 20), cert("cluster.crt", "datastore", 40)]);
    obs.set("worker-1", [cert("kubelet.crt", "kubelet", 20)]);
    const plan = planRenewal(spec, certsReport(spec, obs, new Map(), now), renewableBy("microk8s"));
    expect(plan.targets).toEqual([]);
    expect(plan.notRenewed.map((n) => `${n.entry.node} ${n.entry.certificate}: ${n.reason}`)).toEqual([
      "node-1 ca.crt: a CA is only replaced with --ca (every node and kubeconfig must then trust the new CA)",
      "node-1 cluster.crt: the distribution's tools do not renew it in place",
      "worker-1 kubelet.crt: renewed when the worker re-joins (hactl remove-node worker-1, then hactl add-node worker-1)",
    ]);
  });

  it("kubeadm: one `kubeadm certs renew all` (then a static-pod restart) per control plane", () => {
    const obs = new Map([
      ["node-1", [cert("apiserver", "apiserver", 20), cert("admin.conf", "client", 20), cert("ca", "ca", 20)]],
    ]);
    const plan = planRenewal(spec, certsReport(spec, obs, new Map(), now), renewableBy("kubeadm"));
    expect(plan.targets.map((t) => t.certificates.map((c) => c.certificate))).toEqual([["apiserver", "admin.conf"]]);
    const [command] = renewCommands("kubeadm", plan.targets[0] as (typeof plan.targets)[number]);
    expect(command?.argv[2]).toContain("kubeadm certs renew all");
    expect(command?.argv[2]).toContain("systemctl restart kubelet");
  });
});

describe("CA rotation plan", () => {
  const cps = spec.spec.nodes.filter((n) => n.role === "control-plane");
  const ca = (fingerprint: string, day: number): CaFacts => ({
    fingerprint,
    notBefore: new Date(Date.UTC(2026, 0, day)),
  });

  it("reads openssl's fingerprint and start date", () => {
    expect(parseCaFacts("sha256 Fingerprint=AB:CD:01\nnotBefore=Jan  2 03:04:05 2026 GMT\n")).toEqual({
      fingerprint: "AB:CD:01",
      notBefore: new Date("2026-01-02T03:04:05Z"),
    });
    expect(parseCaFacts("unable to load certificate")).toBeUndefined();
  });

  it("one CA everywhere: a new one on the first control plane, installed on the others", () => {
    const plan = planCaRotation(cps, new Map(cps.map((n) => [n.name, ca("OLD", 1)])));
    expect([plan.rotateOn?.name, plan.source.name, plan.install.map((n) => n.name)]).toEqual([
      "node-1",
      "node-1",
      ["node-2", "node-3"],
    ]);
  });

  it("an interrupted rotation: the newest CA is installed where it is missing, none is made", () => {
    const plan = planCaRotation(
      cps,
      new Map([
        ["node-1", ca("NEW", 5)],
        ["node-2", ca("NEW", 5)],
        ["node-3", ca("OLD", 1)],
      ]),
    );
    expect([plan.rotateOn, plan.source.name, plan.install.map((n) => n.name)]).toEqual([
      undefined,
      "node-1",
      ["node-3"],
    ]);
  });

  it("a run stopped after the last node: nothing is rotated again; one that never started begins anew", () => {
    const all = (fp: string): Map<string, CaFacts> => new Map(cps.map((n) => [n.name, ca(fp, 5)]));
    expect(planCaRotation(cps, all("NEW"), "OLD")).toEqual({ source: cps[0], install: [] });
    expect(planCaRotation(cps, all("OLD"), "OLD").rotateOn?.name).toBe("node-1");
  });
});
