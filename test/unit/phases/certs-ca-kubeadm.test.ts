import { describe, expect, it } from "vitest";
import {
  clusterInfoManifest,
  kubeadmCaRotationPhases,
  parseMarks,
  planKubeadmCaRotation,
  type RotationMark,
} from "../../../src/phases/certs-ca-kubeadm.js";
import {
  clientCertificatePlace,
  withCertificateAuthority,
  withClientCertificate,
} from "../../../src/phases/kubeconfig.js";
import type { ServiceLayoutInput } from "../../../src/phases/out-of-service.js";
import { allHealthyFacts } from "../../fakes/facts.js";
import { FakeHost, hostMap } from "../../fakes/fake-host.js";
import { THREE_CP_ONE_WORKER, specFrom } from "../../fakes/spec.js";
import { RunValues } from "../../../src/core/run-values.js";

const spec = specFrom(THREE_CP_ONE_WORKER.replace("type: microk8s", "type: kubeadm"));
const nodes = spec.spec.nodes;
const layout: ServiceLayoutInput = { spec, facts: allHealthyFacts(spec), backendApiPort: 6443 };
const probe = async (): Promise<boolean> => true;
const marks = (m: Record<string, RotationMark[]>) => new Map(Object.entries(m).map(([n, l]) => [n, new Set(l)]));
const names = (l: readonly { name: string }[]) => l.map((n) => n.name);

describe("kubeadm CA rotation plan", () => {
  it("fresh: every node trusts both CAs, then the control planes are re-issued, then every node drops the old CAs", () => {
    const plan = planKubeadmCaRotation(nodes, { staged: false, done: new Map() });
    expect(plan.source.name).toBe("node-1");
    expect(plan.resuming).toBe(false);
    expect(names(plan.trust)).toEqual(["node-1", "node-2", "node-3"]);
    expect(names(plan.workers)).toEqual(["worker-1"]);
    expect(names(plan.reissue)).toEqual(["node-1", "node-2", "node-3"]);
    expect(names(plan.drop)).toEqual(["node-1", "node-2", "node-3", "worker-1"]);
  });

  it("marks of an earlier rotation count only while its new CAs are staged", () => {
    const done = marks({ "node-1": ["trusted", "reissued", "dropped"] });
    expect(names(planKubeadmCaRotation(nodes, { staged: false, done }).trust)).toEqual(["node-1", "node-2", "node-3"]);
    expect(names(planKubeadmCaRotation(nodes, { staged: true, done }).trust)).toEqual(["node-2", "node-3"]);
  });

  it("resuming after node-2 was re-issued: only what the nodes have not marked", () => {
    const done = marks({
      "node-1": ["trusted", "reissued"],
      "node-2": ["trusted", "reissued"],
      "node-3": ["trusted"],
      "worker-1": ["trusted", "reissued"],
    });
    const plan = planKubeadmCaRotation(nodes, { staged: true, done });
    expect(plan.resuming).toBe(true);
    expect(plan.trust).toEqual([]);
    expect(plan.workers).toEqual([]);
    expect(names(plan.reissue)).toEqual(["node-3"]);
    expect(names(plan.drop)).toEqual(["node-1", "node-2", "node-3", "worker-1"]);
  });

  it("parses the marks file, ignoring anything else", () => {
    expect([...parseMarks("trusted\nreissued\n\nbogus\n")]).toEqual(["trusted", "reissued"]);
  });
});

describe("kubeadm CA rotation phases", () => {
  it("in the documented order, each control plane out of service around every stage, checked through the VIP", () => {
    const phases = kubeadmCaRotationPhases(layout, planKubeadmCaRotation(nodes, { staged: false, done: new Map() }), {
      probe,
      endpoint: { host: "10.0.0.100", port: 6443 },
    });
    const work = phases
      .filter(
        (p) => !/out of service|hands the VIP|API answers|back in service|through the load balancer/.test(p.title),
      )
      .map((p) => p.title);
    expect(work).toEqual([
      "Make the new CAs",
      "Copy the new CAs",
      "Trust both CAs on node-1",
      "Trust both CAs on node-2",
      "Trust both CAs on node-3",
      "Workers: both CAs and a kubelet certificate of the new CA",
      "Publish both cluster CAs for kubeadm join",
      "Re-issue the certificates with the new CAs on node-1",
      "Re-issue the certificates with the new CAs on node-2",
      "Re-issue the certificates with the new CAs on node-3",
      "Drop the old CAs on node-1",
      "Drop the old CAs on node-2",
      "Drop the old CAs on node-3",
      "Publish the new cluster CA for kubeadm join",
      "Workers: drop the old CA",
      "Remove the staged CAs",
      "Remove the staged CAs on node-1",
    ]);
    const titles = phases.map((p) => p.title);
    const at = (t: string): number => titles.indexOf(t);
    expect(titles.slice(at("Trust both CAs on node-2") - 2, at("Trust both CAs on node-2") + 5)).toEqual([
      "Take node-2 out of service",
      "node-2 hands the VIP over",
      "Trust both CAs on node-2",
      "node-2's API answers",
      "Put node-2 back in service",
      "API through the load balancer",
      "Take node-3 out of service",
    ]);
    const ids = phases.flatMap((p) => p.steps.map((s) => s.id));
    expect(new Set(ids).size).toBe(ids.length);
    const copy = phases.find((p) => p.title === "Copy the new CAs");
    expect(copy?.steps.map((s) => s.node)).toEqual(["node-2", "node-3", "worker-1"]);
    expect(copy?.steps.find((s) => s.node === "worker-1")?.describe.join(" ")).not.toContain(".key");
    expect(copy?.steps.find((s) => s.node === "node-2")?.describe.join(" ")).toContain("new/etcd-ca.key");
  });

  it("resuming at the drop stage: no new CA, no copy, only the drops and the clean-up", () => {
    const all: RotationMark[] = ["trusted", "reissued"];
    const plan = planKubeadmCaRotation(nodes, {
      staged: true,
      done: marks({ "node-1": [...all, "dropped"], "node-2": all, "node-3": all, "worker-1": all }),
    });
    const work = kubeadmCaRotationPhases(layout, plan, { probe })
      .map((p) => p.title)
      .filter((t) => !/out of service|hands the VIP|API answers|back in service/.test(t));
    expect(work).toEqual([
      "Drop the old CAs on node-2",
      "Drop the old CAs on node-3",
      "Publish the new cluster CA for kubeadm join",
      "Workers: drop the old CA",
      "Remove the staged CAs",
      "Remove the staged CAs on node-1",
    ]);
  });

  it("a node an interrupted run left out of service is put back before anything else", () => {
    const plan = planKubeadmCaRotation(nodes, { staged: true, done: marks({ "node-1": ["trusted"] }) });
    const phases = kubeadmCaRotationPhases(layout, plan, { probe, staleLb: new Set(["node-2"]) });
    expect(phases[0]?.title).toBe("Put every node back in service");
    expect(phases[0]?.steps.map((s) => s.node)).toEqual(["node-2"]);
    expect(kubeadmCaRotationPhases(layout, plan, { probe, staleLb: new Set() })[0]?.title).toBe("Make the new CAs");
  });
});

const pem = (what: string): string => `-----BEGIN CERTIFICATE-----\n${what}\n-----END CERTIFICATE-----\n`;
const b64 = (text: string): string => Buffer.from(text).toString("base64");
/** `kubectl -n kube-public get configmap cluster-info -o json` as kubeadm init and the bootstrap signer leave it. */
const clusterInfo = (ca: string): string =>
  JSON.stringify({
    apiVersion: "v1",
    kind: "ConfigMap",
    metadata: { name: "cluster-info", namespace: "kube-public", resourceVersion: "311" },
    data: {
      kubeconfig: `apiVersion: v1\nclusters:\n- cluster:\n    certificate-authority-data: ${b64(ca)}\n    server: https://10.0.0.100:6443\n  name: ""\ncontexts: null\ncurrent-context: ""\nkind: Config\npreferences: {}\nusers: null\n`,
      "jws-kubeconfig-abcdef": "eyJhbGciOiJIUzI1NiIsImtpZCI6ImFiY2RlZiJ9..c2ln",
    },
  });

describe("kube-public/cluster-info after a CA rotation", () => {
  it("the kubeconfig's CA becomes the given CA file, server kept; the signer's keys are left to the signer", () => {
    const manifest = clusterInfoManifest(clusterInfo(pem("OLD")), pem("NEW"));
    const doc = JSON.parse(manifest ?? "{}") as { metadata: object; data: Record<string, string> };
    expect(doc.metadata).toEqual({ name: "cluster-info", namespace: "kube-public" });
    expect(Object.keys(doc.data)).toEqual(["kubeconfig"]);
    expect(doc.data.kubeconfig).toContain(`certificate-authority-data: ${b64(pem("NEW"))}`);
    expect(doc.data.kubeconfig).toContain("server: https://10.0.0.100:6443");
    expect(clusterInfoManifest(clusterInfo(pem("NEW")), pem("NEW"))).toBeUndefined();
  });

  it("output that is no ConfigMap with a kubeconfig is UNEXPECTED_OUTPUT", () => {
    expect(() => clusterInfoManifest('{"kind":"ConfigMap","data":{}}', pem("NEW"))).toThrow(
      expect.objectContaining({ code: "UNEXPECTED_OUTPUT" }),
    );
  });

  it("the step reads cluster-info with the admin kubeconfig on the first control plane and applies the new CA", async () => {
    const plan = planKubeadmCaRotation(nodes, { staged: false, done: new Map() });
    const step = kubeadmCaRotationPhases(layout, plan, { probe }).find(
      (p) => p.title === "Publish the new cluster CA for kubeadm join",
    )?.steps[0];
    expect(step?.node).toBe("node-1");
    const host = new FakeHost("node-1")
      .withFile("/etc/kubernetes/pki/ca.crt", pem("NEW"))
      .on({ regex: /get configmap cluster-info -o json$/ }, { stdout: clusterInfo(pem("OLD")) })
      .on({ regex: /apply -f -$/ }, { stdout: "configmap/cluster-info configured\n" });
    const ctx = {
      hosts: hostMap(host),
      signal: new AbortController().signal,
      log: () => undefined,
      values: new RunValues(),
    };
    expect(await step?.run(ctx)).toBe("changed");
    expect(host.commands[0]?.argv).toEqual([
      "kubectl",
      "--kubeconfig",
      "/etc/kubernetes/admin.conf",
      "-n",
      "kube-public",
      "get",
      "configmap",
      "cluster-info",
      "-o",
      "json",
    ]);
    const apply = host.commandsMatching({ regex: /apply -f -$/ })[0];
    expect(apply?.argv.slice(0, 3)).toEqual(["kubectl", "--kubeconfig", "/etc/kubernetes/admin.conf"]);
    expect(apply?.stdin).toContain(b64(pem("NEW")));
    expect(apply?.stdin).not.toContain(b64(pem("OLD")));

    const again = new FakeHost("node-1")
      .withFile("/etc/kubernetes/pki/ca.crt", pem("NEW"))
      .on({ regex: /get configmap cluster-info -o json$/ }, { stdout: clusterInfo(pem("NEW")) });
    expect(await step?.run({ ...ctx, hosts: hostMap(again) })).toBe("unchanged");
    expect(again.commandsMatching({ regex: /apply/ })).toEqual([]);
  });
});

const KUBELET_CONF = `apiVersion: v1
clusters:
- cluster:
    certificate-authority-data: T0xE
    server: https://10.0.0.100:6443
  name: kubernetes
contexts:
- context:
    cluster: kubernetes
    user: system:node:node-4
  name: system:node:node-4@kubernetes
current-context: system:node:node-4@kubernetes
kind: Config
users:
- name: system:node:node-4
  user:
    client-certificate: /var/lib/kubelet/pki/kubelet-client-current.pem
    client-key: /var/lib/kubelet/pki/kubelet-client-current.pem
`;

describe("kubeconfig edits for a CA rotation", () => {
  it("sets the CA bundle as certificate-authority-data, leaving the server and user", () => {
    const out = withCertificateAuthority(KUBELET_CONF, "OLD\nNEW\n");
    expect(out).toContain(`certificate-authority-data: ${Buffer.from("OLD\nNEW\n").toString("base64")}`);
    expect(out).toContain("server: https://10.0.0.100:6443");
    expect(out).toContain("client-certificate: /var/lib/kubelet/pki/kubelet-client-current.pem");
  });

  it("finds the kubelet's certificate file, or replaces an embedded certificate", () => {
    expect(clientCertificatePlace(KUBELET_CONF)).toEqual({
      kind: "file",
      path: "/var/lib/kubelet/pki/kubelet-client-current.pem",
    });
    const embedded = KUBELET_CONF.replace(
      /client-certificate: .*\n\s+client-key: .*\n/,
      "client-certificate-data: Q0VSVA==\n    client-key-data: S0VZ\n",
    );
    expect(clientCertificatePlace(embedded)).toEqual({ kind: "embedded" });
    const out = withClientCertificate(embedded, "NEWCERT", "NEWKEY");
    expect(out).toContain(`client-certificate-data: ${Buffer.from("NEWCERT").toString("base64")}`);
    expect(out).toContain(`client-key-data: ${Buffer.from("NEWKEY").toString("base64")}`);
  });
});
