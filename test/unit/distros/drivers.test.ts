import { describe, expect, it } from "vitest";
import type { EtcdMember } from "../../../src/distros/kubeadm.js";
import { kubeadmStatusView } from "../../../src/distros/kubeadm/driver.js";
import { microk8sStatusView } from "../../../src/distros/microk8s/driver.js";
import { parseStatus } from "../../../src/distros/microk8s.js";
import { driverFor, driverNamed } from "../../../src/distros/registry.js";
import type { KubeNode } from "../../../src/distros/kubectl.js";
import type { KubeadmClusterState } from "../../../src/gather/kubeadm-state.js";
import { formatStatus, viewStatusReport } from "../../../src/phases/status-report.js";
import { FakeHost } from "../../fakes/fake-host.js";
import { statusYaml } from "../../fakes/outputs.js";
import { THREE_CP_ONE_WORKER, specFrom } from "../../fakes/spec.js";

const microk8sSpec = specFrom(THREE_CP_ONE_WORKER);
const kubeadmSpec = specFrom(
  THREE_CP_ONE_WORKER.replace(
    'distribution: { type: microk8s, version: "1.29" }',
    'distribution: { type: kubeadm, version: "1.32" }',
  ),
);

const member = (ip: string, learner = false): EtcdMember => ({
  id: `a${ip.replace(/\D/g, "")}`,
  status: "started",
  name: ip,
  peerUrls: [`https://${ip}:2380`],
  clientUrls: [`https://${ip}:2379`],
  learner,
});
const ready = (name: string): KubeNode => ({
  name,
  ready: true,
  unschedulable: false,
  internalIp: undefined,
  labels: {},
});
const ALL = ["node-1", "node-2", "node-3", "worker-1"].map(ready);

function kubeadmState(over: Partial<KubeadmClusterState> = {}): KubeadmClusterState {
  return {
    installed: new Set(ALL.map((n) => n.name)),
    admins: new Set(["node-1", "node-2", "node-3"]),
    leader: "node-1",
    kubeNodes: ALL,
    members: [member("10.0.0.11"), member("10.0.0.12"), member("10.0.0.13", true)],
    etcdReadable: true,
    apiServerVersions: new Map(),
    ...over,
  };
}

const report = (spec: typeof microk8sSpec, view: ReturnType<typeof kubeadmStatusView>) =>
  viewStatusReport({ spec, unreachable: new Set(), view, loadBalancers: [], apiPort: driverFor(spec).apiPort });

describe("distribution drivers", () => {
  it("are looked up by cluster.yaml's distribution, each with its own API port, ports and wipe hint", () => {
    expect(driverFor(microk8sSpec).name).toBe("microk8s");
    expect(driverFor(kubeadmSpec).name).toBe("kubeadm");
    expect([driverNamed("microk8s").apiPort, driverNamed("kubeadm").apiPort]).toEqual([16443, 6443]);
    expect(driverNamed("kubeadm").ports).toEqual([6443, 2379, 2380, 10250, 10257, 10259]);
    expect(driverNamed("microk8s").ports).toEqual([16443, 25000, 19001, 10250]);
    expect(driverNamed("kubeadm").wipeHint).toMatch(/kubeadm reset -f/);
    expect(driverNamed("kubeadm").kubectl("get", "nodes").argv).toEqual([
      "kubectl",
      "--kubeconfig",
      "/etc/kubernetes/admin.conf",
      "get",
      "nodes",
    ]);
  });
});

describe("status in each distribution's own words", () => {
  it("kubeadm: etcd members and learners, in the report and in the table, with no MicroK8s words", () => {
    const r = report(kubeadmSpec, kubeadmStatusView(kubeadmState()));
    expect(r.nodes.map((n) => n.datastore)).toEqual(["etcd member", "etcd member", "etcd learner", "-"]);
    expect(r.highAvailability).toBe(false);
    expect(r.problems).toEqual(["high availability is off (fewer than 3 voting etcd members)"]);
    const table = formatStatus(r);
    expect(table).toMatch(/node-3 .* etcd learner$/m);
    expect(table).toMatch(/node-1 .* etcd member$/m);
    expect(table).not.toMatch(/voter|standby/);
  });

  it("kubeadm: three voting members are high availability; an unreadable etcd is a problem", () => {
    const three = kubeadmState({ members: ["10.0.0.11", "10.0.0.12", "10.0.0.13"].map((ip) => member(ip)) });
    expect(report(kubeadmSpec, kubeadmStatusView(three)).problems).toEqual([]);
    const unread = report(kubeadmSpec, kubeadmStatusView({ ...three, members: [], etcdReadable: false }));
    expect(unread.problems).toContain("etcd's member list could not be read on node-1 (etcdctl)");
    expect(unread.nodes.every((n) => n.datastore === "-")).toBe(true);
  });

  it("MicroK8s: voters and standbys as microk8s status names them, with the snap's version and hold", () => {
    const status = parseStatus(
      statusYaml({
        members: [
          { ip: "10.0.0.11", role: "voter" },
          { ip: "10.0.0.12", role: "voter" },
          { ip: "10.0.0.13", role: "standby" },
        ],
      }),
    );
    const view = microk8sStatusView({
      installed: new Set(ALL.map((n) => n.name)),
      snaps: new Map([["node-1", { version: "v1.29.4", channel: "1.29/stable", held: false }]]),
      status: new Map([["node-1", status]]),
      leader: "node-1",
      kubeNodes: ALL,
      datastoreIps: new Set(["10.0.0.11", "10.0.0.12", "10.0.0.13"]),
    });
    const r = report(microk8sSpec, view);
    expect(r.nodes.map((n) => n.datastore)).toEqual(["voter", "voter", "standby", "-"]);
    expect(r.nodes[0]).toMatchObject({ version: "v1.29.4", held: false });
    expect(r.warnings).toContain(
      "MicroK8s refreshes are not held on node-1: snapd may upgrade them on its own (hactl install holds them)",
    );
  });
});

describe("what reset, certificates and `hactl version` ask the driver", () => {
  it("reads the installed version with the distribution's own tool", async () => {
    const snap = new FakeHost("n").on(
      { prefix: ["snap", "list", "microk8s"] },
      {
        stdout:
          "Name      Version  Rev   Tracking     Publisher   Notes\nmicrok8s  v1.32.3  7222  1.32/stable  canonical✓  classic\n",
      },
    );
    expect(await driverNamed("microk8s").installedVersion(snap)).toEqual({
      installed: true,
      version: "v1.32.3",
      channel: "1.32/stable",
    });
    const kubeadmHost = new FakeHost("n").on({ prefix: ["kubeadm", "version"] }, { stdout: "v1.33.1\n" });
    expect(await driverNamed("kubeadm").installedVersion(kubeadmHost)).toEqual({ installed: true, version: "v1.33.1" });
    expect(await driverNamed("kubeadm").installedVersion(new FakeHost("n"))).toEqual({ installed: false });
  });

  it("reads a kubeadm worker's kubelet certificate only; a control plane also asks kubeadm", async () => {
    const worker = microk8sSpec.spec.nodes.find((n) => n.role === "worker");
    const cp = microk8sSpec.spec.nodes[0];
    if (!worker || !cp) throw new Error("fixture has a worker and a control plane");
    const host = (): FakeHost =>
      new FakeHost("n")
        .on({ regex: /openssl/ }, { stdout: "/var/lib/kubelet/pki/kubelet.crt notAfter=Jan  2 03:04:05 2030 GMT\n" })
        .on({ prefix: ["kubeadm", "certs", "check-expiration"] }, { stdout: "" });
    const w = host();
    const onWorker = await driverNamed("kubeadm").readCertificates(w, worker);
    expect(onWorker.map((o) => o.name)).toEqual(["kubelet.crt"]);
    expect(w.lines.some((l) => l.includes("check-expiration"))).toBe(false);
    const c = host();
    await driverNamed("kubeadm").readCertificates(c, cp);
    expect(c.lines.some((l) => l.includes("check-expiration"))).toBe(true);
  });

  it("renews only what each distribution's tool renews, never a CA", () => {
    const m = driverNamed("microk8s").certRenewal;
    expect(m.renewable({ certificate: "server.crt", kind: "apiserver" })).toBe(true);
    expect(m.renewable({ certificate: "ca.crt", kind: "ca" })).toBe(false);
    expect(m.commands(["server.crt", "ca.crt"]).map((c) => c.argv.join(" "))).toEqual([
      "microk8s refresh-certs --cert server.crt",
    ]);
    const k = driverNamed("kubeadm").certRenewal;
    expect(k.renewable({ certificate: "apiserver", kind: "apiserver" })).toBe(true);
    expect(k.renewable({ certificate: "kubelet.crt", kind: "kubelet" })).toBe(false);
    expect(k.renewable({ certificate: "ca", kind: "ca" })).toBe(false);
    expect(k.describe(k.commands(["apiserver"]))[0]).toBe("kubeadm certs renew all");
  });
});
