import { describe, expect, it } from "vitest";
import { renewalPhases } from "../../../src/actions/certs.js";
import type { CertObservation } from "../../../src/distros/certs.js";
import { certsReport, planRenewal } from "../../../src/phases/certs.js";
import { renewableBy } from "../../../src/phases/certs-renew.js";
import type { ServiceLayoutInput } from "../../../src/phases/out-of-service.js";
import { allHealthyFacts } from "../../fakes/facts.js";
import { THREE_CP_ONE_WORKER, specFrom } from "../../fakes/spec.js";

const spec = specFrom(THREE_CP_ONE_WORKER);
const layout: ServiceLayoutInput = { spec, facts: allHealthyFacts(spec), backendApiPort: 16443 };
const now = new Date();
const server = (days: number): CertObservation => ({
  name: "server.crt",
  kind: "apiserver",
  path: "/x/server.crt",
  notAfter: new Date(now.getTime() + days * 86_400_000 + 60_000),
});
const probe = async (): Promise<boolean> => true;

function plan(days: Record<string, number>) {
  const observed = new Map(Object.entries(days).map(([n, d]) => [n, [server(d)]]));
  return planRenewal(spec, certsReport(spec, observed, new Map(), now), renewableBy("microk8s"));
}

describe("renewal phases", () => {
  it("one control plane at a time, each out of service around its renewal and checked through the VIP", () => {
    const { phases, inPlace } = renewalPhases(
      layout,
      plan({ "node-1": 364, "node-2": 10, "node-3": 20 }),
      new Set(),
      probe,
    );
    expect(inPlace).toEqual([]);
    expect(phases.map((p) => p.title)).toEqual([
      "Take node-2 out of service",
      "node-2 hands the VIP over",
      "Renew node-2's certificates",
      "node-2's API answers",
      "Put node-2 back in service",
      "API through the load balancer",
      "Take node-3 out of service",
      "node-3 hands the VIP over",
      "Renew node-3's certificates",
      "node-3's API answers",
      "Put node-3 back in service",
      "API through the load balancer",
    ]);
    expect(new Set(phases.flatMap((p) => p.steps.map((s) => s.id))).size).toBe(phases.flatMap((p) => p.steps).length);
  });

  it("nothing due: no phase, unless an interrupted run left load balancers out of service", () => {
    expect(
      renewalPhases(layout, plan({ "node-1": 364, "node-2": 364, "node-3": 364 }), new Set(), probe).phases,
    ).toEqual([]);
    const { phases } = renewalPhases(
      layout,
      plan({ "node-1": 364, "node-2": 364, "node-3": 364 }),
      new Set(["node-1", "node-3"]),
      probe,
    );
    expect(phases.map((p) => [p.title, p.steps.map((s) => s.node)])).toEqual([
      ["Put every node back in service", ["node-1", "node-3"]],
    ]);
  });
});
