import { describe, expect, it } from "vitest";
import { HactlError } from "../../../src/core/errors.js";
import { parseSpec } from "../../../src/spec/parse.js";
import { completeDraft, missingRequired } from "../../../src/wizard/complete.js";
import { draftFromFlags } from "../../../src/wizard/flags.js";
import type { InitFlags } from "../../../src/wizard/init-flags.js";
import { answersToText } from "../../../src/wizard/to-spec.js";

const nodes = ["node-1=10.0.0.11", "node-2=10.0.0.12:cp:ubuntu", "node-3=10.0.0.13", "node-4=10.0.0.14:worker"];

function usageDetails(flags: InitFlags, env: NodeJS.ProcessEnv = {}): string {
  try {
    draftFromFlags(flags, env);
  } catch (e) {
    if (e instanceof HactlError && e.code === "USAGE") return e.details ?? "";
    throw e;
  }
  throw new Error("expected a USAGE error");
}

describe("hactl init flags", () => {
  it("turn into a complete, valid file with defaults for what they leave out", () => {
    const answers = completeDraft(draftFromFlags({ node: nodes, vip: "10.0.0.100", passwordEnv: "SSH_PW" }, {}));
    expect(answers.nodes.map((n) => [n.name, n.role, n.user])).toEqual([
      ["node-1", "control-plane", "root"],
      ["node-2", "control-plane", "ubuntu"],
      ["node-3", "control-plane", "root"],
      ["node-4", "worker", "root"],
    ]);
    const parsed = parseSpec(answersToText(answers));
    expect(parsed.problems).toEqual([]);
    expect(parsed.spec?.spec.ssh).toMatchObject({ user: "root", password: { env: "SSH_PW" }, useAgent: false });
    expect(parsed.spec?.spec.nodes[1]?.ssh).toEqual({ user: "ubuntu" });
    expect(parsed.spec?.spec.linkerd.enabled).toBe(false);
  });

  it("--node-auth gives one node its own login method, as the wizard's per-node exception does", () => {
    const answers = completeDraft(
      draftFromFlags(
        { node: nodes, vip: "10.0.0.100", nodeAuth: ["node-4=key:~/.ssh/old", "node-2=password:NODE2_PW"] },
        {},
      ),
    );
    expect(answers.nodes.map((n) => n.auth)).toEqual([
      { kind: "agent" },
      { kind: "password", env: "NODE2_PW" },
      { kind: "agent" },
      { kind: "key", identityFile: "~/.ssh/old" },
    ]);
    const text = answersToText(answers);
    expect(text).toContain(
      "{ name: node-4, address: 10.0.0.14, role: worker, ssh: { identityFile: ~/.ssh/old, useAgent: false } }",
    );
    expect(parseSpec(text).problems).toEqual([]);
    const details = usageDetails({
      node: nodes,
      nodeAuth: ["node-9=agent", "node-1=token:x", "node-2=password:1BAD", "node-3=agent:x"],
    });
    expect(details).toContain("node-9 is not given with --node");
    expect(details).toContain('--node-auth "node-1=token:x": write NAME=agent');
    expect(details).toContain("--node-auth password variable");
    expect(details).toContain("agent takes no value");
    expect(usageDetails({ nodeAuth: ["node-1=agent"] })).toContain("--node-auth needs the nodes given with --node");
  });

  it("name what is still missing for a run without a terminal", () => {
    expect(missingRequired({})).toEqual(["--node NAME=ADDRESS[:ROLE[:USER]] (at least 3 times)", "--vip ADDRESS"]);
    const external = draftFromFlags(
      { node: nodes, lbMode: "external", lbHost: ["lb-1=10.0.0.201", "lb-2=10.0.0.202"] },
      {},
    );
    expect(missingRequired(external)).toEqual([
      "--lb-port PORT[/udp] (the ports to forward besides the API port)",
      "--vip ADDRESS",
    ]);
    expect(
      missingRequired(
        draftFromFlags(
          { node: nodes, lbMode: "external", lbHost: ["lb-1=10.0.0.201"], lbPort: ["80,443", "12201/udp"] },
          {},
        ),
      ),
    ).toEqual([]);
    expect(missingRequired(draftFromFlags({ node: nodes, lbMode: "none" }, {}))).toEqual([]);
  });

  it("imply HA and autoscaling from their settings, and autoscaling turns Linkerd on", () => {
    const a = completeDraft(draftFromFlags({ node: nodes, vip: "10.0.0.100", systemReplicas: "4", min: "7" }, {}));
    expect(a).toMatchObject({
      ha: true,
      systemReplicas: 4,
      evictionTimeoutSeconds: 300,
      autoscaling: true,
      minReplicas: 7,
      maxReplicas: 7,
      linkerd: true,
    });
  });

  it("report every bad flag at once, with the schema's rules", () => {
    const details = usageDetails({
      node: ["a=10.0.0.1", "b=10.0.0.300", "a=10.0.0.3:boss"],
      vip: "10.0.0.1",
      evictionTimeout: "5",
      ha: false,
      autoscaling: true,
      linkerd: false,
      apiPort: "16443",
      lbPort: ["80"],
      k8sVersion: "1.29.3",
    });
    expect(details).toContain('--node address "10.0.0.300": must be an IPv4 address');
    expect(details).toContain("the role must be one of control-plane, worker");
    expect(details).toContain("--node name: a is given twice");
    expect(details).toContain('--vip "10.0.0.1": 10.0.0.1 belongs to a node');
    expect(details).toContain('--eviction-timeout "5": must be a whole number from 10 to 300');
    expect(details).toContain("--system-replicas and --eviction-timeout are HA settings: leave out --no-ha");
    expect(details).toContain("--no-linkerd: autoscaling needs Linkerd");
    expect(details).toContain("16443 is the microk8s API server's own port");
    expect(details).toContain("--lb-host and --lb-port need --lb-mode external");
    expect(details).toContain('--k8s-version "1.29.3"');
  });

  it("need three control planes and one way to log in", () => {
    expect(usageDetails({ node: ["a=10.0.0.1", "b=10.0.0.2:worker", "c=10.0.0.3"] })).toContain(
      "at least 3 control-plane nodes (got 2)",
    );
    expect(usageDetails({ identityFile: "~/.ssh/k", passwordEnv: "PW" })).toContain("--ssh-auth: choose one of");
  });

  it("check an external service's variable when it is set, without showing its value", () => {
    const env = { PG: "postgres://u:hunter2@db.local/app", MQ: "amqp://u:pw@mq.local:5672/" };
    const details = usageDetails({ postgresqlEnv: "PG", rabbitmqEnv: "MQ", redisEnv: "UNSET_NOW" }, env);
    expect(details).toMatch(
      /--postgresql-env "PG": PG is set, but its value is not a valid connection string: the host has no port/,
    );
    expect(details).not.toContain("hunter2");
    expect(details).not.toContain("db.local");
    expect(details).not.toContain("MQ");
  });
});
