import { describe, expect, it } from "vitest";
import { runValidate } from "../../../src/actions/validate.js";
import { MICROK8S_PORTS } from "../../../src/distros/microk8s.js";
import { preflightChecks } from "../../../src/phases/preflight.js";
import {
  DEFAULT_K8S_MINOR,
  END_OF_SUPPORT,
  endOfSupportProblem,
  supportedMinors,
} from "../../../src/spec/k8s-versions.js";
import { parseSpec } from "../../../src/spec/parse.js";
import type { ProgressEvent } from "../../../src/core/output.js";
import { quietContext } from "../../fakes/context.js";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { allHealthyFacts } from "../../fakes/facts.js";
import { THREE_CP_ONE_WORKER, specFrom } from "../../fakes/spec.js";

const CHOSEN = new Date("2026-12-02T12:00:00Z");

describe("the Kubernetes minor hactl suggests", () => {
  it("is supported upstream on the day it was chosen, and for months after", () => {
    expect(endOfSupportProblem(DEFAULT_K8S_MINOR, CHOSEN)).toBeUndefined();
    expect(endOfSupportProblem(DEFAULT_K8S_MINOR, new Date("2027-05-01"))).toBeUndefined();
    expect(supportedMinors(CHOSEN)).toEqual(["1.35", "1.36", "1.37"]);
    expect(supportedMinors(CHOSEN)).toContain(DEFAULT_K8S_MINOR);
  });

  it("is what a cluster.yaml without a version gets", () => {
    const { spec } = parseSpec(`apiVersion: hactl.dev/v1alpha1
kind: Cluster
metadata: { name: c }
spec:
  distribution: { type: kubeadm }
  nodes:
    - { name: a, address: 10.0.0.11, role: control-plane }
    - { name: b, address: 10.0.0.12, role: control-plane }
    - { name: c, address: 10.0.0.13, role: control-plane }
  loadBalancer: { vip: 10.0.0.100 }
`);
    expect(spec?.spec.distribution.version).toBe(DEFAULT_K8S_MINOR);
  });

  it("names a minor past its end of support, on the day after it", () => {
    expect(endOfSupportProblem("1.34", new Date("2026-10-27T23:00:00Z"))).toBeUndefined();
    expect(endOfSupportProblem("1.34", new Date("2026-10-28T00:00:00Z"))).toBe(
      "Kubernetes 1.34 has been out of upstream support since 2026-10-27 (no more security fixes)",
    );
    expect(endOfSupportProblem("1.29", CHOSEN)).toContain("since 2025-02-28");
    expect(endOfSupportProblem("1.20", CHOSEN)).toContain("since before 2024-06-28");
    expect(endOfSupportProblem("1.99", CHOSEN)).toBeUndefined();
  });

  it("keeps the table in release order with about 14 months between release and end", () => {
    const minors = Object.keys(END_OF_SUPPORT).map((m) => Number(m.split(".")[1]));
    expect(minors).toEqual([...minors].sort((a, b) => a - b));
    const dates = Object.values(END_OF_SUPPORT);
    expect(dates).toEqual([...dates].sort());
  });
});

describe("warnings for an unsupported minor", () => {
  it("preflight adds a cluster-wide warning (not a failure) when given the day", () => {
    const spec = specFrom(THREE_CP_ONE_WORKER);
    const base = {
      spec,
      nodes: spec.spec.nodes,
      facts: allHealthyFacts(spec),
      distroPorts: MICROK8S_PORTS,
      installed: new Set<string>(),
    };
    expect(spec.spec.distribution.version).toBe("1.29");
    const checks = preflightChecks({ ...base, today: CHOSEN });
    const version = checks.find((c) => c.check === "version");
    expect(version).toMatchObject({ node: "cluster", status: "warn" });
    expect(version?.fix).toContain("1.35, 1.36, 1.37");
    const current = specFrom(THREE_CP_ONE_WORKER.replace('version: "1.29"', `version: "${DEFAULT_K8S_MINOR}"`));
    expect(
      preflightChecks({ ...base, spec: current, nodes: current.spec.nodes, today: CHOSEN }).some(
        (c) => c.check === "version",
      ),
    ).toBe(false);
  });

  it("hactl validate warns and still passes", async () => {
    const events: ProgressEvent[] = [];
    const ctx = quietContext({ out: (t) => events.push(JSON.parse(t) as ProgressEvent) });
    const file = join(mkdtempSync(join(tmpdir(), "hactl-k8s-")), "cluster.yaml");
    writeFileSync(file, THREE_CP_ONE_WORKER);
    expect(await runValidate({ file }, ctx)).toBe(0);
    const warning = events.find((e) => e.type === "warn");
    expect(warning?.message).toMatch(/^Kubernetes 1\.29 has been out of upstream support since 2025-02-28/);
  });
});
