import { describe, expect, it } from "vitest";
import { parseSpec } from "../../../src/spec/parse.js";
import { askApp } from "../../../src/wizard/ask-app.js";
import { appAnswersFromSpec } from "../../../src/wizard/from-spec.js";
import { DEFAULT, ScriptedPrompter } from "./scripted.js";

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

describe("the application questions prefilled from cluster.yaml (reconfigure)", () => {
  it("suggests today's values, and '-' removes an external service", async () => {
    const spec = parseSpec(text).spec;
    if (!spec) throw new Error("fixture does not parse");
    const current = appAnswersFromSpec(spec);
    expect(current).toMatchObject({ ha: true, evictionTimeoutSeconds: 45, autoscaling: false, linkerd: true, external: { redis: "REDIS_URL" } });
    const p = new ScriptedPrompter([
      [/HA mode/, DEFAULT],
      [/Replicas of each system service/, DEFAULT],
      [/Seconds before workloads leave/, DEFAULT],
      [/autoscaling/, DEFAULT],
      [/Linkerd/, DEFAULT],
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
