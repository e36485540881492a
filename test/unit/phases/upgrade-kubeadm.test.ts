import { describe, expect, it } from "vitest";
import { describePlan, planIsEmpty } from "../../../src/core/plan.js";
import { parseMemberList } from "../../../src/distros/kubeadm.js";
import { parseNodes } from "../../../src/distros/kubectl.js";
import { parseFiles, type KubeadmClusterState } from "../../../src/gather/kubeadm-state.js";
import {
  kubeadmUpgradeRefusals,
  outlineKubeadmUpgrade,
  planKubeadmUpgrade,
  type KubeadmUpgradeInput,
} from "../../../src/phases/upgrade-kubeadm.js";
import { UPGRADE_LABEL } from "../../../src/phases/upgrade-steps.js";
import type { ClusterSpec } from "../../../src/spec/schema.js";
import { allHealthyFacts } from "../../fakes/facts.js";
import { FakeHost, hostMap } from "../../fakes/fake-host.js";
import { nodesJson, type NodeDescription } from "../../fakes/outputs.js";
import { THREE_CP_ONE_WORKER, specFrom } from "../../fakes/spec.js";
import { kubeadmBundleManifest } from "../../fakes/bundle.js";
import { RunValues } from "../../../src/core/run-values.js";

const spec = specFrom(THREE_CP_ONE_WORKER.replace("type: microk8s", "type: kubeadm"));
const NAMES = ["node-1", "node-2", "node-3", "worker-1"];
const CPS = ["node-1", "node-2", "node-3"];
const memberLine = (i: number, learner = false): string =>
  `${i}a, started, node-${i}, https://10.0.0.1${i}:2380, https://10.0.0.1${i}:2379, ${learner}`;

/** A healthy kubeadm cluster whose kubelets run the given minors (default 1.32). */
function cluster(
  minors: Record<string, string> = {},
  kube: Partial<Record<string, Partial<NodeDescription>>> = {},
  members = [1, 2, 3].map((i) => memberLine(i)),
): KubeadmClusterState {
  const minor = (n: string): string => minors[n] ?? "1.32";
  return {
    installed: new Set(NAMES),
    admins: new Set(CPS),
    leader: "node-1",
    kubeNodes: parseNodes(
      nodesJson(
        NAMES.map((name) => ({ name, worker: name.startsWith("worker"), version: `v${minor(name)}.3`, ...kube[name] })),
      ),
    ),
    members: parseMemberList(members.join("\n")),
    etcdReadable: true,
    apiServerVersions: new Map(CPS.map((n) => [n, `v${minor(n)}.3`])),
  };
}

function input(state: KubeadmClusterState, target = "1.33", s: ClusterSpec = spec): KubeadmUpgradeInput {
  return {
    spec: s,
    state,
    target,
    drainSeconds: 120,
    layout: { spec: s, facts: allHealthyFacts(s), backendApiPort: 6443 },
    endpoint: { host: "10.0.0.100", port: 7443 },
    probe: () => Promise.resolve(true),
  };
}

const stepIds = (i: KubeadmUpgradeInput, title: string): string[] | undefined =>
  planKubeadmUpgrade(i)
    .find((p) => p.title === title)
    ?.steps.map((s) => s.id);

describe("a control plane's own version", () => {
  it("is the tag of its kube-apiserver static Pod image (also with a digest); absent without the manifest", () => {
    expect(parseFiles("kubelet\nadmin\netcd\napiserver registry.k8s.io/kube-apiserver:v1.33.1\n")).toEqual({
      kubelet: true,
      admin: true,
      etcd: true,
      apiServer: "v1.33.1",
    });
    expect(parseFiles("apiserver my.registry/k8s/kube-apiserver:v1.32.3@sha256:0abc\n").apiServer).toBe("v1.32.3");
    expect(parseFiles("kubelet\n")).toEqual({ kubelet: true, admin: false, etcd: false });
  });
});

describe("kubeadmUpgradeRefusals", () => {
  it("accepts a healthy cluster on one minor", () => {
    expect(kubeadmUpgradeRefusals(input(cluster()))).toEqual([]);
  });

  it("refuses a downgrade before any change, naming the nodes and the lowest allowed target", () => {
    expect(kubeadmUpgradeRefusals(input(cluster(), "1.31"))).toEqual([
      "1.31 is lower than 1.32 on node-1, node-2, node-3, worker-1: kubeadm does not downgrade a cluster by a minor. Give --to 1.32 or higher.",
    ]);
  });

  it("refuses versions already mixed by more than one minor", () => {
    expect(kubeadmUpgradeRefusals(input(cluster({ "worker-1": "1.30" }), "1.33")).join("\n")).toMatch(
      /the nodes run 1\.30 to 1\.32, more than one minor apart: bring the 1\.30 nodes to 1\.31 by hand/,
    );
  });

  it("counts a control plane's own version: a stopped run past kubeadm upgrade apply makes a lower target a downgrade", () => {
    // node-3's kube-apiserver runs 1.33, every kubelet still 1.32
    const state = { ...cluster(), apiServerVersions: new Map([...cluster().apiServerVersions, ["node-3", "v1.33.1"]]) };
    expect(kubeadmUpgradeRefusals(input(state, "1.32"))).toEqual([
      "1.32 is lower than 1.33 on node-3's kube-apiserver: kubeadm does not downgrade a cluster by a minor. Give --to 1.33 or higher.",
    ]);
    expect(kubeadmUpgradeRefusals(input(state, "1.33"))).toEqual([]);
    const ahead = { ...cluster({ "worker-1": "1.31" }), apiServerVersions: state.apiServerVersions };
    expect(kubeadmUpgradeRefusals(input(ahead, "1.33")).join("\n")).toMatch(
      /the nodes run 1\.31 to 1\.33, more than one minor apart: bring the 1\.31 nodes to 1\.32 by hand/,
    );
  });

  it("reaches a target two minors ahead one minor at a time, a complete rolling pass each", () => {
    const o = outlineKubeadmUpgrade(input(cluster(), "1.34"));
    expect(o.path).toEqual(["1.33", "1.34"]);
    const plan = planKubeadmUpgrade(input(cluster(), "1.34"), o);
    const applies = plan.flatMap((p) => p.steps.map((s) => s.id)).filter((id) => id.startsWith("kubeadm-apply:"));
    expect(applies).toEqual(["kubeadm-apply:1.33:node-3", "kubeadm-apply:1.34:node-1"]);
    const titles = plan.map((p) => p.title);
    // every node reaches 1.33 before any node starts on 1.34
    expect(titles.indexOf("Upgrade workers worker-1 to 1.33 (batch 1 of 1)")).toBeLessThan(
      titles.indexOf("Upgrade control plane node-1 to 1.34"),
    );
  });

  it("refuses an unhealthy cluster: a NotReady node, a control plane without a voting etcd member, etcd silent", () => {
    expect(kubeadmUpgradeRefusals(input(cluster({}, { "worker-1": { ready: "False" } })))).toEqual([
      "worker-1 is NotReady: an upgrade needs a healthy cluster (hactl status shows why).",
    ]);
    const r = kubeadmUpgradeRefusals(input(cluster({}, {}, [memberLine(1), memberLine(2), memberLine(3, true)])));
    expect(r).toContain("node-3 is a control plane without a voting etcd member: run hactl install first.");
    expect(r).toContain("etcd has 2 voting members, 3 expected: an upgrade takes one away at a time (hactl status).");
    const silent = { ...cluster(), etcdReadable: false, members: [] };
    expect(kubeadmUpgradeRefusals(input(silent))).toEqual([
      "etcd does not answer on node-1: an upgrade restarts one member at a time and needs all of them (hactl status).",
    ]);
  });

  it("refuses a node that has not joined", () => {
    const state = cluster();
    state.installed.delete("worker-1");
    expect(kubeadmUpgradeRefusals(input(state))).toEqual([
      "worker-1 has not joined the cluster (no /etc/kubernetes/kubelet.conf): run hactl install first.",
    ]);
  });
});

describe("planKubeadmUpgrade", () => {
  it("goes one minor at a time, control planes one by one with the VIP holder last, then the workers", () => {
    const o = outlineKubeadmUpgrade(input(cluster(), "1.34"));
    expect(o.path).toEqual(["1.33", "1.34"]);
    expect(o.passes).toEqual([
      {
        minor: "1.33",
        controlPlanes: ["node-3", "node-2", "node-1"],
        workerBatches: [["worker-1"]],
        keepStandby: "node-1",
      },
      { minor: "1.34", controlPlanes: ["node-1", "node-3", "node-2"], workerBatches: [["worker-1"]] },
    ]);
  });

  it("runs kubeadm upgrade apply on the pass's first control plane and kubeadm upgrade node on the others, packages around it", () => {
    const i = input(cluster());
    expect(stepIds(i, "Upgrade control plane node-3 to 1.33")).toEqual([
      "packages:1.33:node-3:kubeadm",
      "kubeadm-apply:1.33:node-3",
      "packages:1.33:node-3:kubelet+kubectl",
      "check:1.33:node-3",
    ]);
    expect(stepIds(i, "Upgrade control plane node-2 to 1.33")).toEqual([
      "packages:1.33:node-2:kubeadm",
      "kubeadm-node:1.33:node-2",
      "packages:1.33:node-2:kubelet+kubectl",
      "check:1.33:node-2",
    ]);
    expect(stepIds(i, "Upgrade workers worker-1 to 1.33 (batch 1 of 1)")).toEqual([
      "packages:1.33:worker-1:kubeadm",
      "kubeadm-node:1.33:worker-1",
      "packages:1.33:worker-1:kubelet+kubectl",
      "check:1.33:worker-1",
    ]);
    const plan = planKubeadmUpgrade(i);
    const titles = plan.map((p) => p.title);
    // strictly one control plane at a time: each is back in service and uncordoned before the next is drained
    expect(titles.indexOf("Uncordon node-3")).toBeLessThan(titles.indexOf("Drain control plane node-2 (to 1.33)"));
    expect(titles.indexOf("Uncordon node-2")).toBeLessThan(titles.indexOf("Drain control plane node-1 (to 1.33)"));
    expect(titles.indexOf("Take node-1 out of service")).toBeGreaterThan(titles.indexOf("Put node-2 back in service"));
    const text = describePlan(plan);
    expect(text).toContain("kubeadm upgrade plan");
    expect(text).toContain("kubeadm upgrade apply v1.33.x -y");
    expect(text).toContain(
      "apt-mark unhold kubelet kubectl; apt-get install -y kubelet='1.33.*' kubectl='1.33.*'; apt-mark hold kubelet kubectl",
    );
    expect(text).toContain("systemctl daemon-reload; systemctl restart kubelet");
    expect(text).toContain("on node-1: kubectl get nodes until node-3 is Ready with kubelet 1.33.x");
    expect(text).toContain("etcdctl member list (on the node) until the datastore has 3 voters again");
    expect(text).toContain("wait until node-1 no longer holds the VIP 10.0.0.100");
  });

  it("resumes: nodes already on the minor get no steps, kubeadm upgrade apply is not repeated, a node left out of service is put back first", () => {
    const state = cluster({ "node-3": "1.33", "node-2": "1.33" }, { "node-2": { unschedulable: true } });
    const marked = state.kubeNodes.find((k) => k.name === "node-2");
    if (marked) marked.labels = { ...marked.labels, [UPGRADE_LABEL]: "1.33" };
    const i = input(state);
    const o = outlineKubeadmUpgrade(i);
    expect(o.resumed).toEqual(["node-2"]);
    expect(o.passes).toEqual([{ minor: "1.33", controlPlanes: ["node-1"], workerBatches: [["worker-1"]] }]);
    const plan = planKubeadmUpgrade(i);
    expect(plan[0]?.steps.map((s) => s.id)).toEqual(["resume-check:node-2"]);
    expect(stepIds(i, "Upgrade control plane node-1 to 1.33")).toContain("kubeadm-node:1.33:node-1");
    expect(plan.flatMap((p) => p.steps).some((s) => s.id.startsWith("kubeadm-apply"))).toBe(false);
  });

  it("resumes after kubeadm upgrade apply went through but the kubelet package did not: apply is not repeated", () => {
    const state = { ...cluster(), apiServerVersions: new Map([...cluster().apiServerVersions, ["node-3", "v1.33.1"]]) };
    const i = input(state);
    expect(outlineKubeadmUpgrade(i).passes[0]?.controlPlanes).toEqual(["node-3", "node-2", "node-1"]);
    expect(stepIds(i, "Upgrade control plane node-3 to 1.33")).toContain("kubeadm-node:1.33:node-3");
    expect(
      planKubeadmUpgrade(i)
        .flatMap((p) => p.steps)
        .some((s) => s.id.startsWith("kubeadm-apply")),
    ).toBe(false);
  });

  it("has nothing to do when every kubelet runs the target", () => {
    expect(
      planIsEmpty(
        planKubeadmUpgrade(
          input(cluster({ "node-1": "1.33", "node-2": "1.33", "node-3": "1.33", "worker-1": "1.33" })),
        ),
      ),
    ).toBe(true);
  });
});

describe("kubeadm upgrade steps", () => {
  const ctx = (hosts: ReturnType<typeof hostMap>) => ({
    hosts,
    signal: new AbortController().signal,
    log: () => undefined,
    values: new RunValues(),
  });

  it("apply: plan first, then the version the new kubeadm package carries, with -y", async () => {
    const step = planKubeadmUpgrade(input(cluster()))
      .flatMap((p) => p.steps)
      .find((s) => s.id === "kubeadm-apply:1.33:node-3");
    const host = new FakeHost("node-3", "10.0.0.13", { code: 0 }).on(
      { prefix: ["kubeadm", "version"] },
      { stdout: "v1.33.1\n" },
    );
    expect(await step?.run(ctx(hostMap(host)))).toBe("changed");
    expect(host.lines.filter((l) => l.startsWith("kubeadm"))).toEqual([
      "kubeadm upgrade plan",
      "kubeadm version -o short",
      "kubeadm upgrade apply v1.33.1 -y",
    ]);
  });

  it("packages: unhold, install the minor, hold; stops when kubeadm is still the old minor", async () => {
    const step = planKubeadmUpgrade(input(cluster()))
      .flatMap((p) => p.steps)
      .find((s) => s.id === "packages:1.33:node-2:kubeadm");
    const host = new FakeHost("node-2", "10.0.0.12", { code: 0 }).on(
      { prefix: ["kubeadm", "version"] },
      { stdout: "v1.32.3\n" },
    );
    await expect(step?.run(ctx(hostMap(host)))).rejects.toMatchObject({
      code: "COMMAND_FAILED",
      node: "node-2",
      message: "kubeadm on node-2 is 1.32 after the package upgrade, not 1.33",
    });
    const script = host.commands.find((c) => c.argv[0] === "sh");
    expect(script?.argv.slice(3)).toEqual([
      "hactl-kube-packages",
      "1.33",
      "/etc/apt/sources.list.d/kubernetes.list",
      "no",
      "kubeadm",
    ]);
    expect(script?.argv[2]).toContain("apt-mark unhold $pkgs\ntrap 'apt-mark hold $pkgs' EXIT");
  });
});

describe("kubeadm upgrade from an offline bundle", () => {
  const bundle = {
    path: "/work/k-1.33.bundle",
    size: 2 ** 20,
    sha256: "e".repeat(64),
    manifest: kubeadmBundleManifest({ version: "1.33", release: "v1.33.1" }),
  };
  const x86 = new Map(NAMES.map((n) => [n, { arch: "x86_64" }]));
  const offline = (b = bundle): KubeadmUpgradeInput => ({ ...input(cluster()), offline: { bundle: b, arch: x86 } });
  const dir = "/tmp/hactl-bundle-eeeeeeeeeeeeeeee";

  it("refuses a bundle of another minor, or a path of two minors, before any change", () => {
    expect(kubeadmUpgradeRefusals(offline())).toEqual([]);
    const old = { ...bundle, manifest: kubeadmBundleManifest({ version: "1.32" }) };
    expect(kubeadmUpgradeRefusals(offline(old)).join("\n")).toContain(
      "the bundle holds kubeadm 1.32, the upgrade goes to 1.33",
    );
    const two = { ...input(cluster(), "1.34"), offline: { bundle, arch: x86 } };
    expect(kubeadmUpgradeRefusals(two).join("\n")).toMatch(/passes 1\.33 → 1\.34, the bundle holds 1\.34 only/);
  });

  it("sends the bundle to every node first, then installs each node's packages from its files and imports the images", async () => {
    const plan = planKubeadmUpgrade(offline());
    expect(plan[0]?.title).toBe("Send the offline bundle");
    expect(plan[0]?.steps.map((s) => s.node)).toEqual(NAMES);
    const text = describePlan(plan);
    expect(text).not.toMatch(/apt-get update|pkgs\.k8s\.io/);
    expect(text).toContain(
      `apt-mark unhold kubeadm; apt-get install -y --no-download ${dir}/kubeadm_1.33.1-1.1_amd64.deb; apt-mark hold kubeadm`,
    );
    expect(text).toContain(`ctr -n k8s.io images import ${dir}/kubernetes-images.tar`);
    const step = plan.flatMap((p) => p.steps).find((s) => s.id === "packages:1.33:node-2:kubeadm");
    expect(step?.title).toBe("kubeadm 1.33 from the offline bundle (held)");
    const host = new FakeHost("node-2", "10.0.0.12", { code: 0 }).on(
      { prefix: ["kubeadm", "version"] },
      { stdout: "v1.33.1\n" },
    );
    expect(
      await step?.run({
        hosts: hostMap(host),
        signal: new AbortController().signal,
        log: () => undefined,
        values: new RunValues(),
      }),
    ).toBe("changed");
    const script = host.commands.find((c) => c.argv[0] === "sh");
    expect(script?.argv.slice(3)).toEqual([
      "hactl-kube-packages",
      "no",
      "kubeadm",
      `${dir}/kubeadm_1.33.1-1.1_amd64.deb`,
    ]);
    expect(script?.argv[2]).toContain("apt-get install -y --no-download --allow-change-held-packages");
    expect(host.lines.filter((l) => l.startsWith("ctr "))).toEqual([
      `ctr -n k8s.io images import ${dir}/cni-images.tar`,
      `ctr -n k8s.io images import ${dir}/kubernetes-images.tar`,
    ]);
    const kubelet = plan.flatMap((p) => p.steps).find((s) => s.id === "packages:1.33:node-2:kubelet+kubectl");
    expect(kubelet?.describe).toEqual([
      `apt-mark unhold kubelet kubectl; apt-get install -y --no-download ${dir}/kubelet_1.33.1-1.1_amd64.deb ${dir}/kubectl_1.33.1-1.1_amd64.deb; apt-mark hold kubelet kubectl`,
      "systemctl daemon-reload; systemctl restart kubelet",
    ]);
  });
});
