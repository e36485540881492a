import { describe, expect, it, vi } from "vitest";
import { askSettings, settingsFromFlags } from "../../../src/actions/app/reconfigure.js";
import { parseSpec } from "../../../src/spec/parse.js";
import { askApp, type AppAnswers } from "../../../src/wizard/ask-app.js";
import { completeDraft } from "../../../src/wizard/complete.js";
import { appAnswersFromSpec } from "../../../src/wizard/from-spec.js";
import { answersToText } from "../../../src/wizard/to-spec.js";
import { DEFAULT, ScriptedPrompter, type Step } from "./scripted.js";

const text = `apiVersion: hactl.dev/v1alpha1
kind: Cluster
metadata: { name: shop }
spec:
  distribution: { type: microk8s }
  nodes:
    - { name: a, address: 10.0.0.11, role: control-plane }
    - { name: b, address: 10.0.0.12, role: control-plane }
    - { name: c, address: 10.0.0.13, role: control-plane }
  loadBalancer: { vip: 10.0.0.100 }
  ha: { enabled: true, systemReplicas: 3, evictionTimeoutSeconds: 45 }
  linkerd: { enabled: true }
  externalServices:
    redis: { env: REDIS_URL }
    s3: { file: /etc/hactl/s3 }
`;

/** The questions before the external services, each answered with its suggestion. */
const KEEP_HA_AND_LINKERD: Step[] = [
  [/HA mode/, DEFAULT],
  [/Replicas of each system service/, DEFAULT],
  [/Seconds before workloads leave/, DEFAULT],
  [/autoscaling/, DEFAULT],
  [/Linkerd/, DEFAULT],
];

describe("the application questions prefilled from cluster.yaml (reconfigure)", () => {
  it("suggests today's values, and '-' removes an external service", async () => {
    const spec = parseSpec(text).spec;
    if (!spec) throw new Error("fixture does not parse");
    const current = appAnswersFromSpec(spec);
    expect(current).toMatchObject({
      ha: true,
      evictionTimeoutSeconds: 45,
      autoscaling: false,
      linkerd: true,
      external: { redis: "REDIS_URL" },
    });
    const p = new ScriptedPrompter([
      ...KEEP_HA_AND_LINKERD,
      [/External PostgreSQL.*\(blank: no external/, DEFAULT],
      [/External MongoDB/, DEFAULT],
      [/External S3/, DEFAULT],
      [/External Redis.*\(-: no external Redis\)/, "-"],
      [/External RabbitMQ/, DEFAULT],
    ]);
    const answers = await askApp({}, 3, p, {}, current);
    expect(p.asked.find((q) => /Seconds/.test(q.message))?.initial).toBe("45");
    expect(p.asked.find((q) => /Redis/.test(q.message))?.initial).toBe("REDIS_URL");
    expect(answers).toEqual({ ...current, external: {} });
  });
});

describe("the wizard's answers round-trip through cluster.yaml into reconfigure's suggestions", () => {
  const variants: [string, Partial<AppAnswers>][] = [
    ["defaults", {}],
    ["HA with its settings", { ha: true, systemReplicas: 5, evictionTimeoutSeconds: 40 }],
    ["autoscaling (Linkerd with it)", { autoscaling: true, minReplicas: 3, maxReplicas: 9, linkerd: true }],
    ["Linkerd and external services", { linkerd: true, external: { postgresql: "PG_URL", rabbitmq: "AMQP_URL" } }],
  ];

  it.each(variants)("%s: accepting every suggestion gives the same answers", async (_, app) => {
    const answers = {
      ...completeDraft({
        nodes: [1, 2, 3, 4, 5].map((i) => ({ name: `n${i}`, address: `10.0.0.1${i}` })),
        vip: "10.0.0.100",
      }),
      ...app,
    };
    const parsed = parseSpec(answersToText(answers));
    if (!parsed.spec) throw new Error("the wizard's file does not parse");
    const current = appAnswersFromSpec(parsed.spec);
    const p = new ScriptedPrompter(Array.from({ length: 12 }, () => [/.*/, DEFAULT] as Step));
    const again = await askApp({}, answers.nodes.length, p, {}, current);
    const expected: AppAnswers = {
      ha: answers.ha,
      systemReplicas: answers.systemReplicas,
      evictionTimeoutSeconds: answers.evictionTimeoutSeconds,
      autoscaling: answers.autoscaling,
      minReplicas: answers.minReplicas,
      maxReplicas: answers.maxReplicas,
      linkerd: answers.linkerd,
      external: answers.external,
    };
    expect(again).toEqual(expected);
    for (const q of p.asked) {
      if (/Replicas of each/.test(q.message)) expect(q.initial).toBe(String(answers.systemReplicas));
      if (/Maximum replicas/.test(q.message)) expect(q.initial).toBe(String(answers.maxReplicas));
    }
  });
});

describe("hactl reconfigure asks the wizard's application questions", () => {
  it("prefills them from cluster.yaml and the flags, checks connection strings, keeps file references and the CPU target", async () => {
    const spec = parseSpec(text).spec;
    if (!spec) throw new Error("fixture does not parse");
    vi.stubEnv("BAD_PG", "not a connection string");
    const start = settingsFromFlags(spec, { file: "cluster.yaml", dryRun: false, evictionTimeout: "60" });
    const p = new ScriptedPrompter([
      ...KEEP_HA_AND_LINKERD,
      [/External PostgreSQL/, "BAD_PG"],
      [/External PostgreSQL/, "PG_URL"],
      [/External MongoDB/, DEFAULT],
      [/External S3/, DEFAULT],
      [/External Redis/, DEFAULT],
      [/External RabbitMQ/, DEFAULT],
    ]);
    const next = await askSettings(spec, start, p);
    vi.unstubAllEnvs();
    expect(p.asked.find((q) => /Seconds/.test(q.message))?.initial).toBe("60");
    expect(p.refused.map((r) => r.answer)).toEqual(["BAD_PG"]);
    expect(next.ha).toEqual({ enabled: true, systemReplicas: 3, evictionTimeoutSeconds: 60 });
    expect(next.autoscaling.cpuPercent).toBe(spec.spec.autoscaling.cpuPercent);
    expect(next.externalServices).toEqual({
      postgresql: { env: "PG_URL" },
      redis: { env: "REDIS_URL" },
      s3: { file: "/etc/hactl/s3" },
    });
  });
});
