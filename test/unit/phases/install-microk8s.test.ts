import type { NodeFacts } from "../../../src/gather/facts.js";
import { describe, expect, it } from "vitest";
import { describePlan, planIsEmpty, type Plan } from "../../../src/core/plan.js";
import { HactlError } from "../../../src/core/errors.js";
import { parseNodes } from "../../../src/distros/kubectl.js";
import { parseStatus } from "../../../src/distros/microk8s.js";
import { renderProvider, withRefreshDisabled } from "../../../src/distros/microk8s-apiserver-proxy.js";
import type { Microk8sClusterState } from "../../../src/gather/microk8s-state.js";
import { planMicrok8sInstall, type Microk8sPlanInput } from "../../../src/phases/install-microk8s.js";
import { lbLayout } from "../../../src/phases/lb-configs.js";
import type { ClusterSpec } from "../../../src/spec/schema.js";
import { FakeHost, hostMap } from "../../fakes/fake-host.js";
import { allHealthyFacts } from "../../fakes/facts.js";
import { nodesJson, statusYaml, type DatastoreMember } from "../../fakes/outputs.js";
import { THREE_CP_ONE_WORKER, specFrom } from "../../fakes/spec.js";
import { microk8sBundleManifest } from "../../fakes/bundle.js";
import { RunValues } from "../../../src/core/run-values.js";

const spec = specFrom(THREE_CP_ONE_WORKER);
const NO_LB = THREE_CP_ONE_WORKER.replace("    vip: 10.0.0.100\n    virtualRouterId: 51\n", "    mode: none\n");
const voters: DatastoreMember[] = [
  { ip: "10.0.0.11", role: "voter" },
  { ip: "10.0.0.12", role: "voter" },
  { ip: "10.0.0.13", role: "voter" },
];

const FRESH: Microk8sClusterState = {
  installed: new Set(),
  snaps: new Map(),
  status: new Map(),
  leader: undefined,
  kubeNodes: [],
  datastoreIps: new Set(),
};

/** A running cluster: `kube` nodes listed by Kubernetes, `members` in the datastore, addons on the leader. */
function running(
  kube: string[],
  members: DatastoreMember[],
  addons: Record<string, "enabled" | "disabled"> = { dns: "enabled", "ha-cluster": "enabled" },
): Microk8sClusterState {
  const leaderStatus = parseStatus(statusYaml({ members, addons }));
  return {
    installed: new Set(["node-1", "node-2", "node-3", "worker-1"]),
    snaps: new Map(
      ["node-1", "node-2", "node-3", "worker-1"].map((n) => [
        n,
        { version: "v1.32.3", channel: "1.32/stable", held: true },
      ]),
    ),
    status: new Map(["node-1", "node-2", "node-3"].map((n) => [n, leaderStatus])),
    leader: "node-1",
    kubeNodes: parseNodes(nodesJson(kube.map((name) => ({ name })))),
    datastoreIps: new Set(members.map((m) => m.ip)),
  };
}

function plan(state: Microk8sClusterState, s: ClusterSpec = spec, over: Partial<Microk8sPlanInput> = {}): Plan {
  const facts = allHealthyFacts(s);
  const layout = lbLayout({ spec: s, facts, backendApiPort: 16443 });
  return planMicrok8sInstall({
    spec: s,
    facts,
    state,
    hostsEntriesFor: new Set(),
    lbFiles: layout.files,
    lbPackages: layout.packages,
    nonlocalBind: layout.nonlocalBind,
    joinAttempts: 3,
    ...over,
  });
}

const ids = (p: Plan, title: string): string[] => p.find((ph) => ph.title === title)?.steps.map((s) => s.id) ?? [];

describe("planMicrok8sInstall on a fresh cluster", () => {
  const p = plan(FRESH);

  it("has the phases in order with their scheduling modes", () => {
    expect(p.map((ph) => [ph.title, ph.mode, ph.alongsidePrevious ?? false])).toEqual([
      ["Prepare hosts", "parallel", false],
      ["Install MicroK8s", "parallel", false],
      ["Form the cluster", "serial", true],
      ["Wait for workers", "parallel", true],
      ["Configure load balancers", "parallel", true],
      ["Point workers' API proxies at the load balancer", "parallel", true],
      ["Hold MicroK8s refreshes", "parallel", true],
      ["Enable addons", "serial", false],
    ]);
  });

  it("holds MicroK8s refreshes on every node right after its install", () => {
    const holds = p.find((ph) => ph.title === "Hold MicroK8s refreshes");
    expect(holds?.steps.map((s) => [s.id, s.after])).toEqual(
      ["node-1", "node-2", "node-3", "worker-1"].map((n) => [`hold:${n}`, [`install:${n}`]]),
    );
    expect(holds?.steps[0]?.describe).toEqual(["snap refresh --hold microk8s"]);
    expect(p.find((ph) => ph.steps.some((s) => s.id === "install:node-1"))?.steps[0]?.describe).toEqual([
      "snap install microk8s --classic --channel=1.29/stable",
      "microk8s status --wait-ready --timeout 300",
    ]);
  });

  it("waits for a worker to be Ready beside the next joins, a control plane within its own join", () => {
    const waits = p.find((ph) => ph.title === "Wait for workers");
    expect(waits?.steps.map((s) => [s.id, s.after])).toEqual([["ready:worker-1", ["join:worker-1"]]]);
    const joins = p.find((ph) => ph.title === "Form the cluster");
    expect(joins?.steps.map((s) => s.describe.includes("wait until Ready and in the datastore"))).toEqual([
      true,
      true,
      false,
    ]);
  });

  it("starts each join once the leader and the joining node are installed, not after every install", () => {
    const joins = p.find((ph) => ph.title === "Form the cluster");
    expect(joins?.steps.map((s) => [s.id, s.after])).toEqual([
      ["join:node-2", ["install:node-1", "install:node-2"]],
      ["join:node-3", ["install:node-1", "install:node-3"]],
      ["join:worker-1", ["install:node-1", "install:worker-1"]],
    ]);
  });

  it("prepares the control planes for the VIP and installs MicroK8s everywhere", () => {
    expect(ids(p, "Prepare hosts")).toEqual([
      "sysctl:node-1",
      "packages:node-1",
      "sysctl:node-2",
      "packages:node-2",
      "sysctl:node-3",
      "packages:node-3",
    ]);
    expect(ids(p, "Install MicroK8s")).toEqual([
      "install:node-1",
      "install:node-2",
      "install:node-3",
      "install:worker-1",
    ]);
  });

  it("joins every node but the first control plane, one at a time", () => {
    const joins = p.find((ph) => ph.title === "Form the cluster");
    expect(joins?.mode).toBe("serial");
    expect(joins?.steps.map((s) => [s.id, s.title])).toEqual([
      ["join:node-2", "join as control-plane"],
      ["join:node-3", "join as control-plane"],
      ["join:worker-1", "join as worker"],
    ]);
    expect(joins?.steps[2]?.describe[1]).toBe("microk8s join 10.0.0.11:25000/<token> --worker");
  });

  it("configures the load balancers and enables the default addons on the leader", () => {
    expect(ids(p, "Configure load balancers")).toEqual(["lb:node-1", "lb:node-2", "lb:node-3"]);
    const addons = p.find((ph) => ph.title === "Enable addons")?.steps;
    expect(addons?.map((s) => [s.node, s.title])).toEqual([["node-1", "enable dns, ha-cluster"]]);
  });

  it("writes /etc/hosts entries only where asked", () => {
    const q = plan(FRESH, spec, { hostsEntriesFor: new Set(["worker-1"]) });
    const hosts = q[0]?.steps.filter((s) => s.id.startsWith("hosts:"));
    expect(hosts?.map((s) => s.id)).toEqual(["hosts:worker-1"]);
    expect(hosts?.[0]?.describe).toContain("/etc/hosts: 10.0.0.21 worker-1");
  });

  it("describes the plan for --dry-run without any token", () => {
    const text = describePlan(p);
    expect(text).toContain("Form the cluster (one node at a time, alongside the phase above)");
    expect(text).toContain("Configure load balancers (nodes in parallel, alongside the phase above)");
    expect(text).toContain("microk8s join 10.0.0.11:25000/<token>");
    expect(text).not.toMatch(/[0-9a-f]{32}/);
  });
});

describe("planMicrok8sInstall on an existing cluster", () => {
  it("has nothing to do on a finished cluster without a load balancer", () => {
    const p = plan(running(["node-1", "node-2", "node-3", "worker-1"], voters), specFrom(NO_LB));
    expect(planIsEmpty(p)).toBe(true);
    expect(describePlan(p)).toMatch(/^Nothing to do/);
  });

  it("holds only the nodes whose refreshes are not held yet, without waiting for an install", () => {
    const state = running(["node-1", "node-2", "node-3", "worker-1"], voters);
    state.snaps.set("node-3", { version: "v1.32.3", channel: "1.32/stable", held: false });
    const p = plan(state, specFrom(NO_LB));
    expect(p.find((ph) => ph.title === "Hold MicroK8s refreshes")?.steps.map((s) => [s.id, s.after])).toEqual([
      ["hold:node-3", undefined],
    ]);
  });

  it("installs, joins and enables nothing on a finished cluster with a load balancer", () => {
    const p = plan(running(["node-1", "node-2", "node-3", "worker-1"], voters));
    for (const title of ["Install MicroK8s", "Form the cluster", "Enable addons"]) expect(ids(p, title)).toEqual([]);
  });

  it("has nothing to do on a finished cluster whose load balancers are up to date", () => {
    const s = spec;
    const finished = (f: NodeFacts): NodeFacts => ({
      ...f,
      nonlocalBind: true,
      commands: new Set([...f.commands, "keepalived", "haproxy"]),
    });
    const facts = new Map([...allHealthyFacts(s)].map(([name, f]) => [name, finished(f)]));
    const p = plan(running(["node-1", "node-2", "node-3", "worker-1"], voters), s, { facts, lbFiles: new Map() });
    expect(planIsEmpty(p)).toBe(true);
  });

  it("points a joined worker's API proxy at the VIP when it is elsewhere, and does nothing once it points there", () => {
    const finished = (f: NodeFacts): NodeFacts => ({
      ...f,
      nonlocalBind: true,
      commands: new Set([...f.commands, "keepalived", "haproxy"]),
    });
    const facts = new Map([...allHealthyFacts(spec)].map(([name, f]) => [name, finished(f)]));
    const args = "--kubeconfig k\n--refresh-interval 30s\n";
    const state = running(["node-1", "node-2", "node-3", "worker-1"], voters);
    const stale = plan(state, spec, {
      facts,
      lbFiles: new Map(),
      apiEndpoint: "10.0.0.100:16443",
      workerProxies: new Map([["worker-1", { provider: renderProvider(["10.0.0.11:16443"]), args }]]),
    });
    expect(ids(stale, "Point workers' API proxies at the load balancer")).toEqual(["apiserver-proxy:worker-1"]);
    const pointed = plan(state, spec, {
      facts,
      lbFiles: new Map(),
      apiEndpoint: "10.0.0.100:16443",
      workerProxies: new Map([
        ["worker-1", { provider: renderProvider(["10.0.0.100:16443"]), args: withRefreshDisabled(args) }],
      ]),
    });
    expect(planIsEmpty(pointed)).toBe(true);
  });

  it("points a worker joining in this run after its join", () => {
    const p = plan(FRESH, spec, { apiEndpoint: "10.0.0.100:16443" });
    expect(
      p.find((ph) => ph.title === "Point workers' API proxies at the load balancer")?.steps.map((s) => [s.id, s.after]),
    ).toEqual([["apiserver-proxy:worker-1", ["join:worker-1"]]]);
  });

  it("sets the nonlocal-bind sysctl only where it is missing", () => {
    const facts = new Map(
      [...allHealthyFacts(spec)].map(([name, f]) => [name, { ...f, nonlocalBind: name !== "node-2" }]),
    );
    const p = plan(running(["node-1", "node-2", "node-3", "worker-1"], voters), spec, { facts });
    expect(ids(p, "Prepare hosts").filter((id) => id.startsWith("sysctl"))).toEqual(["sysctl:node-2"]);
  });

  it("waits again for a worker that joined but is not Ready (a run stopped while waiting), without joining it again", () => {
    const state = running(["node-1", "node-2", "node-3", "worker-1"], voters);
    const notReady = {
      ...state,
      kubeNodes: state.kubeNodes.map((k) => (k.name === "worker-1" ? { ...k, ready: false } : k)),
    };
    const p = plan(notReady);
    expect(ids(p, "Form the cluster")).toEqual([]);
    expect(ids(p, "Wait for workers")).toEqual(["ready:worker-1"]);
  });

  it("joins only the nodes that are not members yet", () => {
    const p = plan(running(["node-1", "node-2"], voters.slice(0, 2)));
    expect(ids(p, "Form the cluster")).toEqual(["join:node-3", "join:worker-1"]);
    expect(ids(p, "Install MicroK8s")).toEqual([]);
  });

  it("joins a half-joined control plane again (listed by Kubernetes, missing from the datastore)", () => {
    const p = plan(running(["node-1", "node-2", "node-3", "worker-1"], voters.slice(0, 2)));
    expect(ids(p, "Form the cluster")).toEqual(["join:node-3"]);
  });

  it("uses the gathered leader when it is not the first control plane", () => {
    const state = { ...running(["node-2"], [{ ip: "10.0.0.12", role: "voter" }]), leader: "node-2" };
    const p = plan(state);
    expect(ids(p, "Form the cluster")).toEqual(["join:node-1", "join:node-3", "join:worker-1"]);
    expect(p.find((ph) => ph.title === "Form the cluster")?.steps[0]?.describe[0]).toBe(
      "on node-2: microk8s add-node (fresh single-use token)",
    );
  });

  it("enables only the addons that are missing on the leader", () => {
    const withMetrics = specFrom(`${THREE_CP_ONE_WORKER}  addons: { metricsServer: true }\n`);
    const p = plan(
      running(["node-1", "node-2", "node-3", "worker-1"], voters, {
        dns: "enabled",
        "ha-cluster": "enabled",
        "metrics-server": "disabled",
      }),
      withMetrics,
    );
    expect(p.find((ph) => ph.title === "Enable addons")?.steps.map((s) => s.title)).toEqual(["enable metrics-server"]);
  });

  it("returns an empty plan when the spec has no control plane to lead", () => {
    const workersOnly = { ...spec, spec: { ...spec.spec, nodes: spec.spec.nodes.filter((n) => n.role === "worker") } };
    expect(
      planMicrok8sInstall({
        spec: workersOnly,
        facts: new Map(),
        state: FRESH,
        hostsEntriesFor: new Set(),
        lbFiles: new Map(),
        lbPackages: new Map(),
        nonlocalBind: new Set(),
        joinAttempts: 1,
      }),
    ).toEqual([]);
  });
});

describe("plan steps at run time", () => {
  const ctx = (...hosts: FakeHost[]) => ({
    hosts: hostMap(...hosts),
    signal: new AbortController().signal,
    log: () => undefined,
    values: new RunValues(),
  });

  it("install step installs the spec's channel and waits for it, with no second look at what gathering saw", async () => {
    const host = new FakeHost("node-1")
      .on({ prefix: ["snap", "install"] }, { code: 0 })
      .on({ prefix: ["microk8s", "status"] }, { code: 0 });
    expect(await plan(FRESH)[1]?.steps[0]?.run(ctx(host))).toBe("changed");
    expect(host.lines).toEqual([
      "snap install microk8s --classic --channel=1.29/stable",
      "microk8s status --wait-ready --timeout 300",
    ]);
  });

  it("install step with a bundle sends it, checks its sha256 on the node, unpacks it, installs both snaps from files and imports the images", async () => {
    const sha = "b".repeat(64);
    const bundle = {
      path: "/work/lab.bundle",
      size: 3 * 2 ** 20,
      sha256: sha,
      manifest: microk8sBundleManifest({ size: 1, sha256: "c".repeat(64) }),
    };
    const dir = "/tmp/hactl-bundle-bbbbbbbbbbbbbbbb";
    const host = new FakeHost("node-1")
      .on({ prefix: ["sha256sum"] }, { stdout: `${sha}  ${dir}/bundle.tar\n` })
      .on({ prefix: ["mkdir"] }, { code: 0 })
      .on({ prefix: ["tar"] }, { code: 0 })
      .on({ prefix: ["snap"] }, { code: 0 })
      .on({ prefix: ["microk8s", "status"] }, { code: 0 })
      .on({ prefix: ["microk8s", "images", "import"] }, { stdout: "Pushing OCI images to 10.0.0.11:25000\n" });
    const step = plan(FRESH, spec, { bundle }).find((ph) => ph.title === "Install MicroK8s")?.steps[0];
    expect(step?.title).toBe("install MicroK8s 1.29 from the offline bundle");
    expect(step?.describe[0]).toBe(
      `upload lab.bundle (3.0 MiB) to ${dir}/ (a cut upload resumes), check its sha256 there, unpack`,
    );
    expect(await step?.run(ctx(host))).toBe("changed");
    expect(host.puts.get(`${dir}/bundle.tar`)).toBe("/work/lab.bundle");
    expect(host.lines).toEqual([
      `mkdir -p -m 0700 ${dir}`,
      `sha256sum ${dir}/bundle.tar`,
      `tar -xf ${dir}/bundle.tar -C ${dir}`,
      `snap ack ${dir}/core22_1908.assert`,
      `snap install ${dir}/core22_1908.snap`,
      `snap ack ${dir}/microk8s_7000.assert`,
      `snap install ${dir}/microk8s_7000.snap --classic`,
      "microk8s status --wait-ready --timeout 300",
      `microk8s images import ${dir}/sandbox-images.tar`,
      `microk8s images import ${dir}/dns-images.tar`,
      `microk8s images import ${dir}/ha-cluster-images.tar`,
    ]);
    expect(step?.describe.slice(-4)).toEqual([
      "microk8s status --wait-ready --timeout 300",
      `microk8s images import ${dir}/sandbox-images.tar (sandbox)`,
      `microk8s images import ${dir}/dns-images.tar (dns)`,
      `microk8s images import ${dir}/ha-cluster-images.tar (ha-cluster)`,
    ]);

    // MicroK8s exits 0 when the cluster agent refuses the tarball: its message fails the step
    const refused = new FakeHost("node-1")
      .on({ prefix: ["sha256sum"] }, { stdout: `${sha}  ${dir}/bundle.tar\n` })
      .on({ prefix: ["mkdir"] }, { code: 0 })
      .on({ prefix: ["tar"] }, { code: 0 })
      .on({ prefix: ["snap"] }, { code: 0 })
      .on({ prefix: ["microk8s", "status"] }, { code: 0 })
      .on(
        { prefix: ["microk8s", "images", "import"] },
        {
          stdout:
            "Pushing OCI images to 10.0.0.11:25000\nFailed to import images on 10.0.0.11:25000: ctr: unexpected EOF\n",
        },
      );
    const error = await step?.run(ctx(refused)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(HactlError);
    expect((error as HactlError).message).toBe(
      "microk8s images import of sandbox-images.tar (sandbox) failed on node-1 (exit 0)",
    );
    expect((error as HactlError).details).toBe("Failed to import images on 10.0.0.11:25000: ctr: unexpected EOF");
    expect(refused.commandsMatching({ prefix: ["microk8s", "images"] })).toHaveLength(1);

    const damaged = new FakeHost("node-1")
      .on({ prefix: ["sha256sum"] }, { stdout: `${"d".repeat(64)}  x\n` })
      .on({ prefix: ["mkdir"] }, { code: 0 })
      .on({ prefix: ["rm"] }, { code: 0 });
    await expect(step?.run(ctx(damaged))).rejects.toThrow(
      /has sha256 d{64}, not b{64}: it was damaged on the way and has been deleted/,
    );
    expect(damaged.lines).toContain(`rm -f ${dir}/bundle.tar`);
  });

  it("with a bundle, a node an earlier run installed imports the images again before it joins, and the leader while addons are missing", () => {
    const bundle = { path: "/work/lab.bundle", size: 1, sha256: "b".repeat(64), manifest: microk8sBundleManifest() };
    // node-1 formed the cluster alone and node-2 was installed, then the run stopped before its join
    const stopped = {
      ...running(["node-1"], [{ ip: "10.0.0.11", role: "voter" }], { dns: "enabled", "ha-cluster": "disabled" }),
      installed: new Set(["node-1", "node-2"]),
    };
    const p = plan(stopped, spec, { bundle });
    expect(ids(p, "Install MicroK8s")).toEqual([
      "install:node-3",
      "install:worker-1",
      "images:node-1",
      "images:node-2",
    ]);
    const join2 = p.find((ph) => ph.title === "Form the cluster")?.steps.find((s) => s.id === "join:node-2");
    expect(join2?.after).toEqual(["install:node-1", "install:node-2", "images:node-2"]);
    const importNode2 = p.flatMap((ph) => ph.steps).find((s) => s.id === "images:node-2");
    expect(importNode2?.describe).toContain(
      "microk8s images import /tmp/hactl-bundle-bbbbbbbbbbbbbbbb/ha-cluster-images.tar (ha-cluster)",
    );
    // every node a member and every addon on: nothing to import
    const all = running(["node-1", "node-2", "node-3", "worker-1"], voters);
    expect(ids(plan(all, spec, { bundle }), "Install MicroK8s")).toEqual([]);
  });

  it("addons step re-reads the leader and enables only what is still missing", async () => {
    const host = new FakeHost("node-1")
      .on(
        { prefix: ["microk8s", "status"] },
        { stdout: statusYaml({ addons: { dns: "enabled", "ha-cluster": "disabled" } }) },
      )
      .on({ prefix: ["microk8s", "enable"] }, { code: 0 });
    const step = plan(FRESH).find((ph) => ph.title === "Enable addons")?.steps[0];
    expect(await step?.run(ctx(host))).toBe("changed");
    expect(host.commandsMatching({ prefix: ["microk8s", "enable"] }).map((c) => c.argv[2])).toEqual(["ha-cluster"]);
  });
});
