import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Machine, Session } from "../../../src/actions/session.js";
import type { RunContext } from "../../../src/core/context.js";
import type { RemoteHost } from "../../../src/core/host.js";
import { createReporter } from "../../../src/core/output.js";
import type { Plan } from "../../../src/core/plan.js";
import type { Change } from "../../../src/actions/runner.js";
import { PROXY_ARGS_FILE } from "../../../src/distros/microk8s-apiserver-proxy.js";
import type { ClusterSpec } from "../../../src/spec/schema.js";
import { FakeHost } from "../../fakes/fake-host.js";
import { nodesJson, statusYaml, type DatastoreMember } from "../../fakes/outputs.js";
import { THREE_CP_ONE_WORKER, specFrom } from "../../fakes/spec.js";

/** The session the runner opens: the test's fake hosts (only the machines it asks for). */
const fakes = new Map<string, FakeHost>();
const opened: string[][] = [];
vi.mock("../../../src/actions/session.js", async (original) => ({
  ...(await original<typeof import("../../../src/actions/session.js")>()),
  openSession: async (_spec: unknown, machines: readonly Machine[]): Promise<Session> => {
    opened.push(machines.map((m) => m.name));
    const hosts = new Map<string, RemoteHost>();
    for (const m of machines) {
      const h = fakes.get(m.name);
      if (h) hosts.set(m.name, h);
    }
    return { hosts, unreachable: [], close: async () => undefined };
  },
}));
const confirmed: string[] = [];
let answer = true;
vi.mock("../../../src/ui/prompts.js", () => ({
  confirm: async (question: string) => {
    confirmed.push(question);
    return answer;
  },
}));

/** Gathering facts finds healthy machines: those of factsOf (install's and add-node's preflight passes). */
let factsOf: ClusterSpec;
vi.mock("../../../src/gather/facts.js", async (original) => {
  const real = await original<typeof import("../../../src/gather/facts.js")>();
  const { healthyFacts } = await import("../../fakes/facts.js");
  return {
    ...real,
    gatherFacts: async (host: RemoteHost, names: readonly string[], probes: readonly string[]) =>
      factsOf.spec.nodes.some((n) => n.name === host.name)
        ? healthyFacts(factsOf, host.name)
        : real.gatherFacts(host, names, probes),
  };
});

const { runChange } = await import("../../../src/actions/runner.js");
const { runRestart } = await import("../../../src/actions/app/scale.js");
const { runRemoveNode } = await import("../../../src/actions/remove-node.js");
const { runInstall } = await import("../../../src/actions/install.js");
const { runAddNode } = await import("../../../src/actions/add-node.js");

const spec = specFrom(THREE_CP_ONE_WORKER);
let members: DatastoreMember[] = [1, 2, 3].map((i) => ({ ip: `10.0.0.1${i}`, role: "voter" }));
const DEPLOYMENTS = JSON.stringify({
  items: [{ metadata: { name: "web" }, spec: { replicas: 2 }, status: { replicas: 2, readyReplicas: 2 } }],
});

/** A running MicroK8s cluster of `nodes`, but nothing installed yet on those named in `fresh`. */
function cluster(nodes = spec.spec.nodes, fresh: readonly string[] = []): void {
  fakes.clear();
  for (const n of nodes) {
    fakes.set(
      n.name,
      new FakeHost(n.name, n.address, { code: 0 })
        .on({ regex: /hactl-lock/ }, { stdout: "acquired\n" })
        .on({ prefix: ["snap", "list", "microk8s"] }, { code: fresh.includes(n.name) ? 1 : 0 })
        .on({ prefix: ["microk8s", "status"] }, { stdout: statusYaml({ members }) })
        .on(
          { prefix: ["microk8s", "kubectl", "get", "nodes"] },
          { stdout: nodesJson(nodes.map((x) => ({ name: x.name, ip: x.address }))) },
        )
        .on({ regex: /get deployments/ }, { stdout: DEPLOYMENTS })
        .withFile(PROXY_ARGS_FILE, "--refresh-interval=30s\n"),
    );
  }
}

const host = (name: string): FakeHost => fakes.get(name) as FakeHost;
const locked = (name: string): boolean =>
  host(name).lines.some((l) => l.includes("hactl-lock") && l.includes("set -C"));
const released = (name: string): boolean => host(name).lines.some((l) => l.includes("grep -qF"));
const journaled = (name: string): string[] =>
  host(name)
    .commands.filter((c) => c.argv.includes("/var/lib/hactl/journal.jsonl"))
    .map((c) => JSON.parse(c.stdin ?? "{}").step as string);

let results: unknown[];
function ctx(interactive = false): RunContext {
  results = [];
  const reporter = createReporter({
    mode: "text",
    isTTY: false,
    color: false,
    out: () => undefined,
    err: () => undefined,
  });
  return {
    reporter: { ...reporter, result: (data: unknown) => results.push(data) },
    interactive,
    yes: !interactive,
    acceptNewHostKeys: false,
    commandTimeoutMs: undefined,
    signal: new AbortController().signal,
  };
}

function oneStep(node: string, outcome: "changed" | "fail" = "changed"): Plan {
  return [
    {
      title: "Do it",
      mode: "serial",
      steps: [
        {
          id: `do:${node}`,
          node,
          title: "do it",
          describe: ["true"],
          async run() {
            if (outcome === "fail") throw new Error("the step failed");
            return "changed";
          },
        },
      ],
    },
  ];
}

/** A change that applies `plan` and then records "recorded" as cluster.yaml. */
function recordingChange(plan: Plan): Change<undefined> {
  return {
    command: "test",
    spec,
    dryRun: false,
    question: "Go?",
    gather: async () => undefined,
    plan: () => plan,
    record: () => ({ file, text: "recorded\n", note: "recorded" }),
  };
}

let dir: string;
let file: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "hactl-runner-"));
  vi.stubEnv("XDG_STATE_HOME", join(dir, "state"));
  file = join(dir, "cluster.yaml");
  writeFileSync(file, `# the operator's comment\n${THREE_CP_ONE_WORKER}`);
  opened.length = 0;
  members = [1, 2, 3].map((i) => ({ ip: `10.0.0.1${i}`, role: "voter" as const }));
  confirmed.length = 0;
  answer = true;
  factsOf = spec;
  cluster();
});
afterEach(() => {
  vi.unstubAllEnvs();
});

describe("runChange, the one runner", () => {
  it("locks, gathers, applies with the run journal, then writes cluster.yaml and releases the lock", async () => {
    const order: string[] = [];
    const out = await runChange(
      {
        command: "test",
        spec,
        dryRun: false,
        question: "Go?",
        gather: async () => {
          order.push(`gather (locked: ${locked("node-1")})`);
          return "facts";
        },
        plan: (g) => {
          order.push(`plan from ${g}`);
          return oneStep("node-2");
        },
        record: () => ({ file, text: "recorded\n", note: "recorded" }),
        after: async () => {
          order.push(`after (file: ${readFileSync(file, "utf8").trim()})`);
        },
      },
      ctx(),
    );
    expect(order).toEqual(["gather (locked: true)", "plan from facts", "after (file: recorded)"]);
    expect(out.summary).toEqual({ changed: 1, unchanged: 0 });
    expect(journaled("node-1")).toEqual(["do:node-2", "do:node-2"]);
    const local = readFileSync(join(dir, "state", "hactl", "journal", "lab.jsonl"), "utf8");
    expect(local).toContain('"command":"test"');
    expect(released("node-1")).toBe(true);
    expect(readdirSync(dir).filter((n) => n.includes("hactl-tmp"))).toEqual([]);
  });

  it("--dry-run: one JSON document with the plan, no lock, no journal, cluster.yaml untouched", async () => {
    const before = readFileSync(file, "utf8");
    const out = await runChange(
      {
        command: "test",
        spec,
        dryRun: true,
        question: "Go?",
        gather: async () => 3,
        plan: () => oneStep("node-2"),
        describe: (n) => ({ changes: n }),
        record: () => ({ file, text: "recorded\n", note: "recorded" }),
      },
      ctx(),
    );
    expect(out.summary).toBeUndefined();
    expect(results).toHaveLength(1);
    expect(results[0]).toMatchObject({ dryRun: true, changes: 3, plan: [{ phase: "Do it" }] });
    expect(locked("node-1")).toBe(false);
    expect(journaled("node-1")).toEqual([]);
    expect(readFileSync(file, "utf8")).toBe(before);
  });

  it("a failed step leaves cluster.yaml as it was and still releases the lock", async () => {
    const before = readFileSync(file, "utf8");
    await expect(runChange(recordingChange(oneStep("node-2", "fail")), ctx())).rejects.toThrow();
    expect(readFileSync(file, "utf8")).toBe(before);
    expect(released("node-1")).toBe(true);
  });

  it("never runs without the lock: with no control plane connected it stops before gathering", async () => {
    fakes.delete("node-1");
    fakes.delete("node-2");
    fakes.delete("node-3");
    const gather = vi.fn(async () => undefined);
    await expect(
      runChange(
        { command: "test", spec, dryRun: false, question: "Go?", gather, plan: () => oneStep("worker-1") },
        ctx(),
      ),
    ).rejects.toThrow(/control-plane node to hold the cluster lock/);
    expect(gather).not.toHaveBeenCalled();
  });

  it("asks once on a terminal, and a no changes nothing", async () => {
    answer = false;
    await expect(runChange(recordingChange(oneStep("node-2")), ctx(true))).rejects.toThrow(
      "cancelled before any change",
    );
    expect(confirmed).toEqual(["Go?"]);
    expect(journaled("node-1")).toEqual([]);
    expect(readFileSync(file, "utf8")).not.toBe("recorded\n");
  });
});

describe("application commands go through the runner", () => {
  it("restart holds the lock and records every step in the run journal", async () => {
    expect(await runRestart("all", { file, dryRun: false, timeout: "60" }, ctx())).toBe(0);
    expect(opened).toEqual([spec.spec.nodes.map((n) => n.name)]);
    expect(locked("node-1")).toBe(true);
    expect(journaled("node-1").length).toBeGreaterThan(0);
    expect(released("node-1")).toBe(true);
    expect(results).toEqual([{ namespace: "app", restarted: ["web"] }]);
  });

  it("restart --dry-run prints one JSON document with the plan and takes no lock", async () => {
    expect(await runRestart("all", { file, dryRun: true, timeout: "60" }, ctx())).toBe(0);
    expect(locked("node-1")).toBe(false);
    expect(results).toHaveLength(1);
    expect(results[0]).toMatchObject({ dryRun: true, plan: [{ steps: [{ node: "node-1" }] }] });
  });
});

describe("remove-node goes through the runner", () => {
  const opts = { name: "worker-1", force: false, drainTimeout: "60", file };

  it("--dry-run -o json: one document with the plan; nothing locked, nothing written", async () => {
    const before = readFileSync(file, "utf8");
    expect(await runRemoveNode({ ...opts, file, dryRun: true }, ctx())).toBe(0);
    expect(results).toHaveLength(1);
    const phases = (results[0] as { plan: { phase: string }[] }).plan.map((p) => p.phase);
    expect(phases).toEqual([
      "Take worker-1 out of the load balancers",
      "Drain worker-1",
      "worker-1 leaves",
      "Remove worker-1 from the cluster",
    ]);
    expect(locked("node-1")).toBe(false);
    expect(readFileSync(file, "utf8")).toBe(before);
  });

  it("locks on a remaining control plane, journals, and replaces cluster.yaml atomically with comments kept", async () => {
    expect(await runRemoveNode({ ...opts, file, dryRun: false }, ctx())).toBe(0);
    expect(locked("node-1")).toBe(true);
    expect(journaled("node-1")).toContain("remove:worker-1");
    const after = readFileSync(file, "utf8");
    expect(after).toContain("# the operator's comment");
    expect(after).not.toContain("worker-1");
    expect(readdirSync(dir).filter((n) => n.includes("hactl-tmp"))).toEqual([]);
  });

  it("removing the first control plane: the lock and the journal stay on a control plane that remains", async () => {
    const text = THREE_CP_ONE_WORKER.replace(
      "{ name: worker-1, address: 10.0.0.21, role: worker }",
      "{ name: node-4, address: 10.0.0.14, role: control-plane }",
    );
    const four = specFrom(text);
    writeFileSync(file, text);
    members.push({ ip: "10.0.0.14", role: "voter" });
    cluster(four.spec.nodes);
    expect(await runRemoveNode({ ...opts, name: "node-1", file, dryRun: false }, ctx())).toBe(0);
    expect(locked("node-1")).toBe(false);
    expect(locked("node-2")).toBe(true);
    expect(journaled("node-2")).toContain("remove:node-1");
  });
});

describe("install and add-node go through the runner", () => {
  const four = specFrom(
    THREE_CP_ONE_WORKER.replace(
      "    - { name: worker-1",
      "    - { name: node-4, address: 10.0.0.14, role: control-plane }\n    - { name: worker-1",
    ),
  );
  const addNode4 = { name: "node-4", address: "10.0.0.14", role: "control-plane" as const, dryRun: false };
  type PlanJson = { phase: string; steps: { node: string; title: string }[] }[];
  const planOf = (result: unknown): PlanJson => (result as { plan: PlanJson }).plan;

  /** The cluster runs on node-1..3 and worker-1; node-4 is fresh, or already joined (a run stopped after its join). */
  function withNode4(joined: boolean): void {
    factsOf = four;
    if (joined) members.push({ ip: "10.0.0.14", role: "standby" });
    cluster(four.spec.nodes, joined ? [] : ["node-4"]);
  }

  it("install --dry-run -o json: the converge's plan as one JSON document; no lock, no journal, no kubeconfig", async () => {
    cluster(spec.spec.nodes, ["node-1", "node-2", "node-3", "worker-1"]);
    expect(await runInstall({ file, dryRun: true, kubeconfig: join(dir, "lab.kubeconfig") }, ctx())).toBe(0);
    expect(opened).toEqual([spec.spec.nodes.map((n) => n.name)]);
    expect(results).toHaveLength(1);
    expect(results[0]).toMatchObject({ dryRun: true });
    expect(planOf(results[0]).map((p) => p.phase)).toEqual([
      "Prepare hosts",
      "Install MicroK8s",
      "Form the cluster",
      "Wait for workers",
      "Configure load balancers",
      "Point workers' API proxies at the load balancer",
      "Hold MicroK8s refreshes",
      "Enable addons",
    ]);
    expect(locked("node-1")).toBe(false);
    expect(journaled("node-1")).toEqual([]);
    expect(readdirSync(dir)).not.toContain("lab.kubeconfig");
  });

  it("install of a kubeadm cluster --dry-run: kubeadm's plan through the same runner, nothing locked", async () => {
    const text = THREE_CP_ONE_WORKER.replace(
      '{ type: microk8s, version: "1.29" }',
      '{ type: kubeadm, version: "1.32" }',
    );
    writeFileSync(file, text);
    factsOf = specFrom(text);
    expect(await runInstall({ file, dryRun: true }, ctx())).toBe(0);
    expect(results).toHaveLength(1);
    expect(planOf(results[0]).map((p) => p.phase)).toEqual([
      "Prepare hosts",
      "Configure load balancers",
      "Initialise the control plane",
      "Join control-plane nodes",
      "Join workers",
    ]);
    expect(locked("node-1")).toBe(false);
    expect(journaled("node-1")).toEqual([]);
  });

  it("add-node --dry-run -o json: one document in which only node-4 installs and joins; nothing locked or written", async () => {
    withNode4(false);
    const before = readFileSync(file, "utf8");
    expect(await runAddNode({ ...addNode4, file, dryRun: true }, ctx())).toBe(0);
    expect(results).toHaveLength(1);
    const plan = planOf(results[0]);
    const nodesIn = (phase: string): string[] => plan.find((p) => p.phase === phase)?.steps.map((st) => st.node) ?? [];
    expect(nodesIn("Install MicroK8s")).toEqual(["node-4"]);
    expect(nodesIn("Form the cluster")).toEqual(["node-4"]);
    expect(nodesIn("Configure load balancers")).toEqual(["node-1", "node-2", "node-3", "node-4"]);
    expect(locked("node-1")).toBe(false);
    expect(readFileSync(file, "utf8")).toBe(before);
  });

  it("add-node asks once on a terminal; a no changes nothing and leaves cluster.yaml as it was", async () => {
    withNode4(false);
    answer = false;
    const before = readFileSync(file, "utf8");
    await expect(runAddNode({ ...addNode4, file }, ctx(true))).rejects.toThrow("cancelled before any change");
    expect(confirmed).toEqual(["Apply this plan to 5 machines?"]);
    expect(journaled("node-1")).toEqual([]);
    expect(host("node-4").lines.some((l) => l.includes("apt-get"))).toBe(false);
    expect(readFileSync(file, "utf8")).toBe(before);
    expect(released("node-1")).toBe(true);
  });

  it("add-node whose step fails: cluster.yaml stays as it was, the lock is released", async () => {
    withNode4(false);
    host("node-4").on({ regex: /apt-get install/ }, { code: 100, stderr: "E: Unable to locate package haproxy" });
    const before = readFileSync(file, "utf8");
    await expect(runAddNode({ ...addNode4, file }, ctx())).rejects.toThrow();
    expect(journaled("node-1")).toContain("packages:node-4");
    expect(readFileSync(file, "utf8")).toBe(before);
    expect(released("node-1")).toBe(true);
  });

  it("add-node resumed after its join: the rest applied with the run journal, then node-4 recorded atomically", async () => {
    withNode4(true);
    expect(await runAddNode({ ...addNode4, file }, ctx())).toBe(0);
    expect(locked("node-1")).toBe(true);
    expect(journaled("node-1")).toContain("lb:node-4");
    expect(host("node-4").lines.some((l) => l.includes("microk8s join"))).toBe(false);
    const after = readFileSync(file, "utf8");
    expect(after).toContain("# the operator's comment");
    expect(after).toContain("- { name: node-4, address: 10.0.0.14, role: control-plane }");
    expect(readdirSync(dir).filter((n) => n.includes("hactl-tmp"))).toEqual([]);
    expect(released("node-1")).toBe(true);
  });
});
