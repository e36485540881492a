import { describe, expect, it } from "vitest";
import type { EtcdMember } from "../../../src/distros/kubeadm.js";
import { kubeadmStatusView } from "../../../src/distros/kubeadm/driver.js";
import { microk8sStatusView } from "../../../src/distros/microk8s/driver.js";
import { parseStatus } from "../../../src/distros/microk8s.js";
import { driverFor, driverNamed } from "../../../src/distros/registry.js";
import type { KubeNode } from "../../../src/distros/kubectl.js";
import type { KubeadmClusterState } from "../../../src/gather/kubeadm-state.js";
import { formatStatus, viewStatusReport } from "../../../src/phases/status-report.js";
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
