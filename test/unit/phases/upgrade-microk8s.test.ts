import { describe, expect, it } from "vitest";
import { describePlan, planIsEmpty } from "../../../src/core/plan.js";
import { parseNodes } from "../../../src/distros/kubectl.js";
import { parseStatus } from "../../../src/distros/microk8s.js";
import type { Microk8sClusterState } from "../../../src/gather/microk8s-state.js";
import { serviceLayoutFiles } from "../../../src/phases/out-of-service.js";
import {
  microk8sUpgradeRefusals,
  outlineMicrok8sUpgrade,
  planMicrok8sUpgrade,
  type Microk8sUpgradeInput,
} from "../../../src/phases/upgrade-microk8s.js";
import { UPGRADE_LABEL } from "../../../src/phases/upgrade-steps.js";
import { batches, parseTargetMinor, versionPath, workerBatchSize } from "../../../src/phases/upgrade-versions.js";
import type { ClusterSpec } from "../../../src/spec/schema.js";
import { allHealthyFacts } from "../../fakes/facts.js";
import { FakeHost, hostMap } from "../../fakes/fake-host.js";
import { nodesJson, statusYaml, type DatastoreMember, type NodeDescription } from "../../fakes/outputs.js";
import { EXTERNAL_NGINX, THREE_CP_ONE_WORKER, specFrom } from "../../fakes/spec.js";
import { microk8sBundleManifest } from "../../fakes/bundle.js";
import { RunValues } from "../../../src/core/run-values.js";

const spec = specFrom(THREE_CP_ONE_WORKER);
const NAMES = ["node-1", "node-2", "node-3", "worker-1"];
const VOTERS: DatastoreMember[] = [
  { ip: "10.0.0.11", role: "voter" },
  { ip: "10.0.0.12", role: "voter" },
  { ip: "10.0.0.13", role: "voter" },
];

/** A healthy cluster whose nodes run the given minors (default 1.29), all held. */
function cluster(
  minors: Record<string, string> = {},
  kube: Partial<Record<string, Partial<NodeDescription>>> = {},
  members = VOTERS,
): Microk8sClusterState {
  const status = parseStatus(statusYaml({ members }));
  const minor = (n: string): string => minors[n] ?? "1.29";
  return {
    installed: new Set(NAMES),
    snaps: new Map(NAMES.map((n) => [n, { version: `v${minor(n)}.3`, channel: `${minor(n)}/stable`, held: true }])),
    status: new Map(["node-1", "node-2", "node-3"].map((n) => [n, status])),
    leader: "node-1",
    kubeNodes: parseNodes(
      nodesJson(
        NAMES.map((name) => ({ name, worker: name.startsWith("worker"), version: `v${minor(name)}.3`, ...kube[name] })),
      ),
    ),
    datastoreIps: new Set(members.map((m) => m.ip)),
  };
}

function input(
  state: Microk8sClusterState,
  target = "1.31",
  s: ClusterSpec = spec,
  over: Partial<Microk8sUpgradeInput> = {},
): Microk8sUpgradeInput {
  return {
    spec: s,
    state,
    target,
    drainSeconds: 120,
    layout: { spec: s, facts: allHealthyFacts(s), backendApiPort: 16443 },
    endpoint: { host: "10.0.0.100", port: 7443 },
    probe: () => Promise.resolve(true),
    ...over,
  };
}

describe("version arithmetic", () => {
  it("goes one minor at a time from the lowest node to the target", () => {
    expect(versionPath(["1.29", "1.29"], "1.31")).toEqual(["1.30", "1.31"]);
    expect(versionPath(["1.29", "1.30"], "1.31")).toEqual(["1.30", "1.31"]);
    expect(versionPath(["1.31"], "1.31")).toEqual([]);
  });

  it("reads --to values", () => {
    expect(parseTargetMinor("1.31")).toBe("1.31");
    expect(parseTargetMinor("v1.31")).toBe("1.31");
    expect(parseTargetMinor("1.31/stable")).toBe("1.31");
    expect(parseTargetMinor("1.31.2")).toBeUndefined();
    expect(parseTargetMinor("latest")).toBeUndefined();
  });

  it("caps worker batches at max(1, 10 %); --batch-size may only lower it", () => {
    expect(workerBatchSize(1, undefined)).toBe(1);
    expect(workerBatchSize(25, undefined)).toBe(2);
    expect(workerBatchSize(25, 1)).toBe(1);
    expect(workerBatchSize(25, 9)).toBe(2);
    expect(batches(["a", "b", "c"], 2)).toEqual([["a", "b"], ["c"]]);
  });
});

describe("microk8sUpgradeRefusals", () => {
  it("accepts a healthy cluster on one minor", () => {
    expect(microk8sUpgradeRefusals(input(cluster()))).toEqual([]);
  });

  it("refuses a downgrade, naming the nodes and the lowest allowed target", () => {
    const r = microk8sUpgradeRefusals(input(cluster({ "node-2": "1.30" }), "1.29"));
    expect(r).toEqual([
      "1.29 is lower than 1.30 on node-2: MicroK8s cannot be downgraded by changing channels (it breaks the datastore). Give --to 1.30 or higher.",
    ]);
  });

  it("refuses versions already mixed by more than one minor", () => {
    const r = microk8sUpgradeRefusals(input(cluster({ "worker-1": "1.31" }), "1.31"));
    expect(r.join("\n")).toMatch(/the nodes run 1\.29 to 1\.31, more than one minor apart/);
  });

  it("refuses an unhealthy cluster: a NotReady node, a missing voter", () => {
    expect(microk8sUpgradeRefusals(input(cluster({}, { "node-3": { ready: "False" } })))).toEqual([
      "node-3 is NotReady: an upgrade needs a healthy cluster (hactl status shows why).",
    ]);
    const r = microk8sUpgradeRefusals(input(cluster({}, {}, VOTERS.slice(0, 2))));
    expect(r).toContain("node-3 is a control plane without a datastore seat: run hactl install first.");
    expect(r).toContain("the datastore has 2 voters, 3 expected: an upgrade takes one away at a time (hactl status).");
  });

  it("refuses a node without MicroK8s", () => {
    const state = cluster();
    state.installed.delete("worker-1");
    expect(microk8sUpgradeRefusals(input(state))).toEqual(["worker-1 has no MicroK8s: run hactl install first."]);
  });
});

describe("planMicrok8sUpgrade", () => {
  it("outlines the path and the order: control planes one at a time, the VIP holder last, then the workers", () => {
    const o = outlineMicrok8sUpgrade(input(cluster()));
    expect(o.path).toEqual(["1.30", "1.31"]);
    // node-1 holds the VIP (highest priority): last in the first pass, then kept at the lowest priority, so
    // node-2 holds the VIP in the second pass and goes last there; node-1 takes the VIP back first.
    expect(o.passes).toEqual([
      {
        minor: "1.30",
        controlPlanes: ["node-3", "node-2", "node-1"],
        workerBatches: [["worker-1"]],
        keepStandby: "node-1",
      },
      { minor: "1.31", controlPlanes: ["node-1", "node-3", "node-2"], workerBatches: [["worker-1"]] },
    ]);
  });

  it("without the VIP on the control planes, the leader goes last in every pass", () => {
    const external = specFrom(EXTERNAL_NGINX);
    const o = outlineMicrok8sUpgrade(
      input(cluster(), "1.31", external, {
        layout: { spec: external, facts: allHealthyFacts(external), backendApiPort: 16443 },
      }),
    );
    expect(o.passes.map((p) => p.controlPlanes)).toEqual([
      ["node-2", "node-3", "node-1"],
      ["node-2", "node-3", "node-1"],
    ]);
  });

  it("takes a control plane out of service before refreshing it and puts it back after the checks", () => {
    const plan = planMicrok8sUpgrade(input(cluster()));
    const first = plan.findIndex((p) => p.title === "Drain control plane node-2 (to 1.30)");
    const titles = plan.slice(first, first + 9).map((p) => p.title);
    expect(titles).toEqual([
      "Drain control plane node-2 (to 1.30)",
      "Take node-2 out of service",
      "node-2 hands the VIP over",
      "API through the load balancer",
      "Upgrade control plane node-2 to 1.30",
      "node-2's API answers",
      "Put node-2 back in service",
      "API through the load balancer",
      "Uncordon node-2",
    ]);
    expect(plan.find((p) => p.title === "Upgrade control plane node-2 to 1.30")?.steps.map((s) => s.id)).toEqual([
      "refresh:1.30:node-2",
      "check:1.30:node-2",
    ]);
    expect(plan.find((p) => p.title === "Take node-2 out of service")?.steps.map((s) => s.id)).toEqual([
      "oos:1.30:node-2:lb:node-1",
      "oos:1.30:node-2:lb:node-2",
      "oos:1.30:node-2:lb:node-3",
    ]);
    const text = describePlan(plan);
    expect(text).toContain(
      "on node-1: microk8s kubectl drain node-2 --ignore-daemonsets --delete-emptydir-data --timeout=120s",
    );
    expect(text).toContain("wait until node-2 no longer holds the VIP 10.0.0.100");
    expect(text).toContain("snap refresh microk8s --channel=1.30/stable");
    expect(text).toContain("microk8s status until the datastore has 3 voters again");
    // The leader's kubectl runs on another control plane while the leader refreshes.
    expect(text).toContain("on node-2: microk8s kubectl drain node-1");
    expect(plan.map((p) => p.title).filter((t) => t.startsWith("Upgrade") || t.startsWith("Hold"))).toEqual([
      "Hold MicroK8s refreshes",
      "Upgrade control plane node-3 to 1.30",
      "Upgrade control plane node-2 to 1.30",
      "Upgrade control plane node-1 to 1.30",
      "Upgrade workers worker-1 to 1.30 (batch 1 of 1)",
      "Upgrade control plane node-1 to 1.31",
      "Upgrade control plane node-3 to 1.31",
      "Upgrade control plane node-2 to 1.31",
      "Upgrade workers worker-1 to 1.31 (batch 1 of 1)",
    ]);
  });

  it("renders the out-of-service configs without the node's backend and with its VRRP priority lowest", () => {
    const i = input(cluster());
    const files = serviceLayoutFiles(i.layout, new Set(["node-2"]));
    const haproxy = files.get("node-1")?.find((f) => f.path === "/etc/haproxy/haproxy.cfg")?.content ?? "";
    expect(haproxy).not.toContain("10.0.0.12:16443");
    expect(haproxy).toContain("10.0.0.11:16443");
    const keepalived = files.get("node-2")?.find((f) => f.path === "/etc/keepalived/keepalived.conf")?.content ?? "";
    expect(keepalived).toMatch(/priority 1\n/);
    expect(keepalived).toContain("virtual_router_id 51");
  });

  it("keeps the VIP holder at the lowest VRRP priority until its turn in the next pass, so the VIP moves away once and back once", async () => {
    const plan = planMicrok8sUpgrade(input(cluster()));
    const lbFiles = async (id: string): Promise<string> => {
      const step = plan.flatMap((p) => p.steps).find((s) => s.id === id);
      expect(step).toBeDefined();
      const cps = ["node-1", "node-2", "node-3"].map((n) => new FakeHost(n).on({ regex: /.*/ }, { code: 0 }));
      await step?.run({
        hosts: hostMap(...cps),
        signal: new AbortController().signal,
        log: () => undefined,
        values: new RunValues(),
      });
      return cps[0]?.files.get("/etc/keepalived/keepalived.conf") ?? "";
    };
    expect(await lbFiles("ois:1.30:node-1:lb:node-1")).toMatch(/priority 1\n/);
    expect(await lbFiles("oos:1.31:node-1:lb:node-1")).toMatch(/priority 1\n/);
    expect(await lbFiles("ois:1.31:node-1:lb:node-1")).toMatch(/priority 250\n/);
    expect(await lbFiles("ois:1.31:node-3:lb:node-1")).toMatch(/priority 250\n/);
  });

  it("gives workers no load-balancer steps when no backend lists them", () => {
    const plan = planMicrok8sUpgrade(input(cluster()));
    expect(plan.find((p) => p.title.startsWith("Drain workers worker-1 to 1.30"))?.steps.map((s) => s.id)).toEqual([
      "drain:1.30:worker-1",
    ]);
    expect(plan.some((p) => p.title.startsWith("Take worker-1 out of service"))).toBe(false);
  });

  it("resumes: nodes already on a pass's minor get no steps, a node left out of service is put back first", () => {
    const state = cluster({ "node-2": "1.30" }, { "node-2": { unschedulable: true } });
    const marked = state.kubeNodes.find((k) => k.name === "node-2");
    if (marked) marked.labels = { ...marked.labels, [UPGRADE_LABEL]: "1.30" };
    const o = outlineMicrok8sUpgrade(input(state, "1.30"));
    expect(o.resumed).toEqual(["node-2"]);
    expect(o.passes).toEqual([{ minor: "1.30", controlPlanes: ["node-3", "node-1"], workerBatches: [["worker-1"]] }]);
    const plan = planMicrok8sUpgrade(input(state, "1.30"));
    expect(plan.slice(1, 6).map((p) => p.title)).toEqual([
      "Check node-2 (left out of service by a stopped run)",
      "node-2's API answers",
      "Put node-2 back in service",
      "API through the load balancer",
      "Uncordon node-2",
    ]);
    expect(plan.slice(1, 6).flatMap((p) => p.steps.map((s) => s.id))).toEqual([
      "resume-check:node-2",
      "ois:resume:node-2:api",
      "ois:resume:node-2:lb:node-1",
      "ois:resume:node-2:lb:node-2",
      "ois:resume:node-2:lb:node-3",
      "ois:resume:node-2:endpoint",
      "resume-uncordon:node-2",
    ]);
  });

  it("has nothing to do when every node runs the target and is held; holds an unheld node", () => {
    const done = cluster({ "node-1": "1.31", "node-2": "1.31", "node-3": "1.31", "worker-1": "1.31" });
    expect(planIsEmpty(planMicrok8sUpgrade(input(done)))).toBe(true);
    done.snaps.set("worker-1", { version: "v1.31.3", channel: "1.31/stable", held: false });
    expect(planMicrok8sUpgrade(input(done))[0]?.steps.map((s) => s.id)).toEqual(["hold:worker-1"]);
  });
});

describe("upgrade from an offline bundle", () => {
  const sha = "e".repeat(64);
  const dir = "/tmp/hactl-bundle-eeeeeeeeeeeeeeee";
  const bundle = (version = "1.30") => ({
    path: "/work/demo-1.30.bundle",
    size: 28 * 2 ** 20,
    sha256: sha,
    manifest: microk8sBundleManifest({ version, revision: 7110, size: 1, sha256: sha }),
  });
  const x86 = new Map(NAMES.map((n) => [n, { arch: "x86_64" }]));
  const offline = (version = "1.30", arch = x86) => ({ offline: { bundle: bundle(version), arch } });
  const ctx = (...hosts: FakeHost[]) => ({
    hosts: hostMap(...hosts),
    signal: new AbortController().signal,
    log: () => undefined,
    values: new RunValues(),
  });

  it("refuses, before any change, a bundle of another minor, for another architecture, or a path of two minors", () => {
    expect(microk8sUpgradeRefusals(input(cluster(), "1.30", spec, offline()))).toEqual([]);
    expect(microk8sUpgradeRefusals(input(cluster(), "1.30", spec, offline("1.29")))).toEqual([
      'the bundle holds microk8s 1.29, the upgrade goes to 1.30: Make a bundle of 1.30 (hactl bundle -f COPY --out FILE, COPY being cluster.yaml with version "1.30") and give it: hactl upgrade --to 1.30 --bundle FILE',
    ]);
    const arm = new Map(x86).set("worker-1", { arch: "aarch64" });
    expect(microk8sUpgradeRefusals(input(cluster(), "1.30", spec, offline("1.30", arm)))).toEqual([
      expect.stringMatching(/^worker-1 is arm64 \(aarch64\), the bundle is for amd64: Make the bundle/),
    ]);
    expect(microk8sUpgradeRefusals(input(cluster(), "1.31", spec, offline("1.31")))).toEqual([
      "the upgrade to 1.31 passes 1.30 → 1.31, the bundle holds 1.31 only: upgrade to 1.30 first with a bundle of 1.30 (hactl upgrade --to 1.30 --bundle FILE).",
    ]);
  });

  it("sends the bundle to every node not yet on the target, all at once, before the first node changes", async () => {
    const plan = planMicrok8sUpgrade(input(cluster({ "node-3": "1.30" }), "1.30", spec, offline()));
    expect(plan.map((p) => p.title).slice(0, 3)).toEqual([
      "Hold MicroK8s refreshes",
      "Send the offline bundle",
      "Drain control plane node-2 (to 1.30)",
    ]);
    const send = plan[1];
    expect(send?.mode).toBe("parallel");
    expect(send?.steps.map((s) => s.node)).toEqual(["node-1", "node-2", "worker-1"]);
    expect(send?.steps[0]?.describe).toEqual([
      `upload demo-1.30.bundle (28.0 MiB) to ${dir}/ (a cut upload resumes), check its sha256 there, unpack`,
    ]);
    const host = new FakeHost("node-1")
      .on({ prefix: ["mkdir"] }, { code: 0 })
      .on({ prefix: ["sha256sum"] }, { stdout: `${sha}  ${dir}/bundle.tar\n` })
      .on({ prefix: ["tar"] }, { code: 0 });
    expect(await send?.steps[0]?.run(ctx(host))).toBe("changed");
    expect(host.puts.get(`${dir}/bundle.tar`)).toBe("/work/demo-1.30.bundle");
    expect(describePlan(plan)).not.toContain("snap refresh microk8s --channel");
  });

  it("refreshes each node from the files: snap ack + snap install ./FILE, snap switch to the minor's channel, wait ready", async () => {
    const plan = planMicrok8sUpgrade(input(cluster(), "1.30", spec, offline()));
    const step = plan
      .find((p) => p.title === "Upgrade control plane node-2 to 1.30")
      ?.steps.find((s) => s.id === "refresh:1.30:node-2");
    expect(step?.title).toBe("refresh to 1.30 from the offline bundle");
    expect(step?.describe).toEqual([
      "snap ack core22_1908.assert; snap install ./core22_1908.snap",
      "snap ack microk8s_7110.assert; snap install ./microk8s_7110.snap --classic",
      "snap switch --channel=1.30/stable microk8s (the tracking channel only)",
      "microk8s status --wait-ready",
    ]);
    const host = new FakeHost("node-2")
      .on({ prefix: ["snap"] }, { code: 0 })
      .on({ prefix: ["microk8s", "status"] }, { code: 0 });
    expect(await step?.run(ctx(host))).toBe("changed");
    expect(host.lines).toEqual([
      `snap ack ${dir}/core22_1908.assert`,
      `snap install ${dir}/core22_1908.snap`,
      `snap ack ${dir}/microk8s_7110.assert`,
      `snap install ${dir}/microk8s_7110.snap --classic`,
      "snap switch --channel=1.30/stable microk8s",
      "microk8s status --wait-ready --timeout 300",
    ]);
  });
});
