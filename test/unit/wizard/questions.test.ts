import { describe, expect, it } from "vitest";
import { parseSpec } from "../../../src/spec/parse.js";
import { MESSAGES } from "../../../src/spec/schema.js";
import { LINKERD_FOR_AUTOSCALING } from "../../../src/wizard/ask-app.js";
import { completeDraft } from "../../../src/wizard/complete.js";
import { draftFromFlags } from "../../../src/wizard/flags.js";
import { askAnswers } from "../../../src/wizard/questions.js";
import { answersToText } from "../../../src/wizard/to-spec.js";
import { DEFAULT, ScriptedPrompter, type Step } from "./scripted.js";

const PG_BAD = "postgresql://app@db.internal:5432/app";
const PG_GOOD = "postgresql://app:Sup3rS3cret@db.internal:5432/app";
const env = { PG_BAD, PG_GOOD };

/** A full run: three nodes with a key, keepalived-haproxy, HA, autoscaling, two external services. */
const fullScript: Step[] = [
  [/^Cluster name/, "prod"],
  [/distribution/, DEFAULT],
  [/microk8s version/, DEFAULT],
  [/How many nodes/, "3"],
  [/Same SSH login/, true],
  [/Every node: SSH user/, "ubuntu"],
  [/Every node: how does hactl log in/, "key"],
  [/Every node: private key file/, "~/.ssh/lab"],
  [/Node 1 of 3: name/, DEFAULT],
  [/node-1: address/, "10.0.0.300"],
  [/node-1: address/, "10.0.0.11"],
  [/Node 2 of 3: name/, "node-1"],
  [/Node 2 of 3: name/, DEFAULT],
  [/node-2: address/, "10.0.0.11"],
  [/node-2: address/, "10.0.0.12"],
  [/Node 3 of 3: name/, DEFAULT],
  [/node-3: address/, "10.0.0.13"],
  [/Nodes that log in differently/, DEFAULT],
  [/^Load balancer/, DEFAULT],
  [/Port of the Kubernetes API/, DEFAULT],
  [/Virtual IP/, "10.0.0.12"],
  [/Virtual IP/, "10.0.0.100"],
  [/Interface for the VIP/, "eth0"],
  [/web traffic/, true],
  [/HA mode/, true],
  [/Replicas of each system service/, DEFAULT],
  [/Seconds before workloads leave/, "5"],
  [/Seconds before workloads leave/, "301"],
  [/Seconds before workloads leave/, "30"],
  [/autoscaling/, true],
  [/Minimum replicas/, DEFAULT],
  [/Maximum replicas/, "1"],
  [/Maximum replicas/, "6"],
  [/External PostgreSQL/, "PG_BAD"],
  [/External PostgreSQL/, "PG_GOOD"],
  [/External MongoDB/, DEFAULT],
  [/External S3/, DEFAULT],
  [/External Redis/, "REDIS_URL"],
  [/External RabbitMQ/, DEFAULT],
];

describe("the question flow", () => {
  it("asks everything, re-asks refused answers with the schema's message, and maps to a valid file", async () => {
    const p = new ScriptedPrompter(fullScript);
    const answers = await askAnswers({}, { prompter: p, env });
    expect(p.remaining).toBe(0);
    const expected: [string, string | RegExp][] = [
      ["10.0.0.300", MESSAGES.address],
      ["node-1", "node-1 is already used by another node"],
      ["10.0.0.11", "10.0.0.11 is already used by another node"],
      ["10.0.0.12", /^10\.0\.0\.12 belongs to a node/],
      ["5", "must be a whole number from 10 to 300"],
      ["301", "must be a whole number from 10 to 300"],
      ["1", "must be at least the minimum (2)"],
      ["PG_BAD", /^PG_BAD is set, but its value is not a valid connection string: the password is missing/],
    ];
    expect(p.refused.map((r) => r.answer)).toEqual(expected.map((e) => e[0]));
    p.refused.forEach((r, i) => {
      const want = expected[i]?.[1] ?? "";
      if (typeof want === "string") expect(r.reason).toBe(want);
      else expect(r.reason).toMatch(want);
    });
    expect(answers.nodes.map((n) => [n.name, n.address, n.role, n.user, n.auth])).toEqual([
      ["node-1", "10.0.0.11", "control-plane", "ubuntu", { kind: "key", identityFile: "~/.ssh/lab" }],
      ["node-2", "10.0.0.12", "control-plane", "ubuntu", { kind: "key", identityFile: "~/.ssh/lab" }],
      ["node-3", "10.0.0.13", "control-plane", "ubuntu", { kind: "key", identityFile: "~/.ssh/lab" }],
    ]);
    const text = answersToText(answers);
    const parsed = parseSpec(text);
    expect(parsed.problems).toEqual([]);
    const spec = parsed.spec?.spec;
    expect(spec?.ssh).toMatchObject({ user: "ubuntu", identityFile: "~/.ssh/lab", useAgent: false });
    expect(spec?.loadBalancer).toMatchObject({
      mode: "keepalived-haproxy",
      vip: "10.0.0.100",
      interface: "eth0",
      apiPort: 7443,
      web: { enabled: true },
    });
    expect(spec?.ha).toEqual({ enabled: true, systemReplicas: 3, evictionTimeoutSeconds: 30 });
    expect(spec?.autoscaling).toMatchObject({ enabled: true, minReplicas: 2, maxReplicas: 6 });
    expect(spec?.linkerd.enabled).toBe(true);
    expect(spec?.externalServices).toEqual({ postgresql: { env: "PG_GOOD" }, redis: { env: "REDIS_URL" } });
  });

  it("turns Linkerd on with autoscaling, says so, and does not ask about Linkerd", async () => {
    const p = new ScriptedPrompter(fullScript);
    await askAnswers({}, { prompter: p, env });
    expect(p.said).toContain(LINKERD_FOR_AUTOSCALING);
    expect(p.asked.some((q) => /Linkerd/.test(q.message))).toBe(false);
  });

  it("never writes or repeats a connection string: only the variable's name", async () => {
    const p = new ScriptedPrompter(fullScript);
    const text = answersToText(await askAnswers({}, { prompter: p, env }));
    for (const secret of [PG_BAD, PG_GOOD, "Sup3rS3cret", "db.internal"]) {
      expect(text).not.toContain(secret);
      for (const r of p.refused) expect(r.reason).not.toContain(secret);
      for (const s of p.said) expect(s).not.toContain(secret);
    }
    expect(p.refused.at(-1)?.reason).toMatch(/the password is missing/);
    expect(p.said).toContain(
      "REDIS_URL is not set now: export it before `hactl install`. Only its name goes into cluster.yaml.",
    );
  });

  it("gives the same file as the equivalent flags", async () => {
    const asked = answersToText(await askAnswers({}, { prompter: new ScriptedPrompter(fullScript), env }));
    const draft = draftFromFlags(
      {
        name: "prod",
        node: ["node-1=10.0.0.11", "node-2=10.0.0.12", "node-3=10.0.0.13"],
        sshUser: "ubuntu",
        identityFile: "~/.ssh/lab",
        vip: "10.0.0.100",
        interface: "eth0",
        web: true,
        evictionTimeout: "30",
        max: "6",
        postgresqlEnv: "PG_GOOD",
        redisEnv: "REDIS_URL",
      },
      env,
    );
    expect(answersToText(completeDraft(draft))).toBe(asked);
  });

  it("asks only what the flags left out", async () => {
    const draft = draftFromFlags(
      {
        node: ["a=10.0.0.11", "b=10.0.0.12", "c=10.0.0.13"],
        ha: false,
        autoscaling: false,
        linkerd: false,
        web: false,
      },
      {},
    );
    const p = new ScriptedPrompter([
      [/^Cluster name/, DEFAULT],
      [/distribution/, "kubeadm"],
      [/kubeadm version/, "1.30"],
      [/^Load balancer/, DEFAULT],
      [/Port of the Kubernetes API/, "6443"],
      [/Port of the Kubernetes API/, DEFAULT],
      [/Virtual IP/, "10.0.0.100"],
      [/Interface for the VIP/, DEFAULT],
      [/External PostgreSQL/, DEFAULT],
      [/External MongoDB/, DEFAULT],
      [/External S3/, DEFAULT],
      [/External Redis/, DEFAULT],
      [/External RabbitMQ/, DEFAULT],
    ]);
    const answers = await askAnswers(draft, { prompter: p, env: {} });
    expect(p.remaining).toBe(0);
    expect(p.refused[0]?.reason).toMatch(/kubeadm API server's own port/);
    expect(answers).toMatchObject({
      distribution: "kubeadm",
      version: "1.30",
      iface: undefined,
      ha: false,
      linkerd: false,
      external: {},
    });
    expect(parseSpec(answersToText(answers)).problems.filter((x) => x.severity === "error")).toEqual([]);
  });

  it("keeps three control planes: roles are asked only while a worker still leaves enough", async () => {
    const nodeSteps = (i: number, role?: string): Step[] => [
      [new RegExp(`Node ${i} of 4: name`), DEFAULT],
      [new RegExp(`node-${i}: address`), `10.0.0.${10 + i}`],
      ...(role ? ([[new RegExp(`node-${i}: role`), role]] as Step[]) : []),
      [new RegExp(`node-${i}: SSH user`), DEFAULT],
      [new RegExp(`node-${i}: how`), DEFAULT],
    ];
    const p = new ScriptedPrompter([
      [/How many nodes/, "4"],
      [/Same SSH login/, false],
      ...nodeSteps(1, "worker"),
      ...nodeSteps(2),
      ...nodeSteps(3),
      ...nodeSteps(4),
    ]);
    const { askNodes } = await import("../../../src/wizard/ask-nodes.js");
    const nodes = await askNodes({}, p);
    expect(nodes.map((n) => n.role)).toEqual(["worker", "control-plane", "control-plane", "control-plane"]);
    expect(p.said).toContain("node-2 is a control plane: a highly available cluster needs at least 3.");
  });

  it("asks the login once for ten nodes, and only the named nodes again (fewer than 40 answers)", async () => {
    const nodeSteps = (i: number): Step[] => [
      [new RegExp(`Node ${i} of 10: name`), DEFAULT],
      [new RegExp(`node-${i}: address`), `10.0.0.${10 + i}`],
      [new RegExp(`node-${i}: role`), DEFAULT],
    ];
    const script: Step[] = [
      [/How many nodes/, "10"],
      [/Same SSH login/, DEFAULT],
      [/Every node: SSH user/, "ops"],
      [/Every node: how does hactl log in/, DEFAULT],
      ...Array.from({ length: 10 }, (_, i) => nodeSteps(i + 1)).flat(),
      [/Nodes that log in differently/, "node-11"],
      [/Nodes that log in differently/, "node-7, node-9"],
      [/node-7: SSH user/, "root"],
      [/node-7: how does hactl log in/, "key"],
      [/node-7: private key file/, "~/.ssh/old"],
      [/node-9: SSH user/, "admin"],
      [/node-9: how does hactl log in/, DEFAULT],
    ];
    const p = new ScriptedPrompter(script);
    const { askNodes } = await import("../../../src/wizard/ask-nodes.js");
    const nodes = await askNodes({}, p);
    expect(p.remaining).toBe(0);
    const withoutOverrides = p.asked.findIndex((q) => /log in differently/.test(q.message)) + 1;
    expect(withoutOverrides).toBe(35);
    expect(p.refused[0]?.reason).toMatch(/^node-11: not a node of this cluster/);
    expect(nodes.map((n) => [n.name, n.role, n.user, n.auth.kind])).toEqual([
      ...[1, 2, 3].map((i) => [`node-${i}`, "control-plane", "ops", "agent"]),
      ...[4, 5, 6].map((i) => [`node-${i}`, "worker", "ops", "agent"]),
      ["node-7", "worker", "root", "key"],
      ["node-8", "worker", "ops", "agent"],
      ["node-9", "worker", "admin", "agent"],
      ["node-10", "worker", "ops", "agent"],
    ]);
    const text = answersToText({ ...completeDraft({}), nodes, vip: "10.0.0.100" });
    expect(text).toContain(
      "{ name: node-7, address: 10.0.0.17, role: worker, ssh: { user: root, identityFile: ~/.ssh/old, useAgent: false } }",
    );
    expect(parseSpec(text).problems.filter((x) => x.severity === "error")).toEqual([]);
  });

  it("asks no login question when the flags gave the user and the method", async () => {
    const nodeSteps = (i: number): Step[] => [
      [new RegExp(`Node ${i} of 3: name`), DEFAULT],
      [new RegExp(`node-${i}: address`), `10.0.0.${10 + i}`],
    ];
    const p = new ScriptedPrompter([[/How many nodes/, DEFAULT], ...nodeSteps(1), ...nodeSteps(2), ...nodeSteps(3)]);
    const { askNodes } = await import("../../../src/wizard/ask-nodes.js");
    const nodes = await askNodes({ sshUser: "ubuntu", sshAuth: { kind: "agent" } }, p);
    expect(p.remaining).toBe(0);
    expect(nodes.every((n) => n.user === "ubuntu")).toBe(true);
  });

  it("stores an SSH password as an environment reference and says it is not in the file", async () => {
    const { askAuth } = await import("../../../src/wizard/ask-nodes.js");
    const p = new ScriptedPrompter([
      [/how does hactl log in/, "password"],
      [/environment variable that will hold the SSH password/, "1BAD"],
      [/environment variable that will hold the SSH password/, "NODE_PW"],
    ]);
    expect(await askAuth(p, "node-1", { kind: "agent" })).toEqual({ kind: "password", env: "NODE_PW" });
    expect(p.refused[0]?.reason).toBe(MESSAGES.envName);
    expect(p.said[0]).toMatch(/not written to cluster.yaml.*\$NODE_PW/);
  });
});
