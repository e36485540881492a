import { describe, expect, it } from "vitest";
import { applyPlan } from "../../../src/core/executor.js";
import type { Plan } from "../../../src/core/plan.js";
import type { RenderedConfig } from "../../../src/lb/index.js";
import { appliedStamp, stampPath } from "../../../src/lb/applied-stamp.js";
import { OUT_OF_SERVICE_PRIORITY } from "../../../src/phases/lb-configs.js";
import {
  outOfServiceRefusal,
  putBackInService,
  serviceLayoutFiles,
  takeOutOfService,
  type ServiceLayoutInput,
} from "../../../src/phases/out-of-service.js";
import type { NodeSpec } from "../../../src/spec/schema.js";
import { allHealthyFacts } from "../../fakes/facts.js";
import { FakeHost } from "../../fakes/fake-host.js";
import { EXTERNAL_NGINX, THREE_CP_ONE_WORKER, specFrom } from "../../fakes/spec.js";

const spec = specFrom(THREE_CP_ONE_WORKER);
const input: ServiceLayoutInput = { spec, facts: allHealthyFacts(spec), backendApiPort: 16443 };
const node2 = spec.spec.nodes[1] as NodeSpec;
const content = (files: readonly RenderedConfig[] | undefined, path: string): string =>
  files?.find((f) => f.path === path)?.content ?? "";
const priorityOf = (conf: string): number => Number(/^\s*priority (\d+)$/m.exec(conf)?.[1]);
const silent = { phase: () => undefined, step: () => undefined, log: () => undefined };

/** A control plane whose LB configs are the given ones, live and applied (services active, stamps matching). */
function lbHost(name: string, address: string, files: readonly RenderedConfig[], holdsVip: boolean[]): FakeHost {
  const host = new FakeHost(name, address, { code: 0 });
  for (const f of files) host.withFile(f.path, f.content);
  for (const svc of ["keepalived", "haproxy"]) host.withFile(stampPath(svc), appliedStamp(files, svc));
  host.on(
    { prefix: ["ip", "-4", "-o", "addr", "show"] },
    ...holdsVip.map((held) => ({
      stdout: held ? `2: eth0    inet 10.0.0.100/32 scope global eth0\n` : "2: eth0    inet 10.0.0.12/24\n",
    })),
  );
  return host;
}

describe("out of service: layout", () => {
  const normal = serviceLayoutFiles(input, new Set());
  const out = serviceLayoutFiles(input, new Set(["node-2"]));

  it("drops the node from every haproxy backend list and keeps it a VRRP peer with the lowest priority", () => {
    for (const m of ["node-1", "node-2", "node-3"]) {
      const cfg = content(out.get(m), "/etc/haproxy/haproxy.cfg");
      expect(cfg).not.toContain("10.0.0.12:16443");
      expect(cfg).toContain("10.0.0.11:16443");
      expect(cfg).toContain("10.0.0.13:16443");
    }
    expect(priorityOf(content(out.get("node-2"), "/etc/keepalived/keepalived.conf"))).toBe(OUT_OF_SERVICE_PRIORITY);
    expect(content(out.get("node-1"), "/etc/keepalived/keepalived.conf")).toBe(
      content(normal.get("node-1"), "/etc/keepalived/keepalived.conf"),
    );
  });

  it("external load balancers lose the node from the API and web backends", () => {
    const ext = specFrom(EXTERNAL_NGINX);
    const files = serviceLayoutFiles(
      { spec: ext, facts: allHealthyFacts(ext), backendApiPort: 16443 },
      new Set(["node-2"]),
    );
    for (const [, f] of files) expect(content(f, "/etc/nginx/nginx.conf")).not.toContain("10.0.0.12:");
  });

  it("refuses the only control plane", () => {
    // cluster.yaml needs 3 control planes; a cluster reduced to one by hand still gets a clear answer.
    const one = {
      ...spec,
      spec: { ...spec.spec, nodes: spec.spec.nodes.filter((n) => n.name !== "node-2" && n.name !== "node-3") },
    };
    expect(outOfServiceRefusal({ ...input, spec: one }, one.spec.nodes[0] as NodeSpec)).toMatch(/only control plane/);
    expect(outOfServiceRefusal(input, node2)).toBeUndefined();
  });
});

describe("out of service: phases", () => {
  const normal = serviceLayoutFiles(input, new Set());

  it("takes the node out (configs everywhere, then waits for the VIP to move) and puts it back", async () => {
    const hosts = new Map([
      ["node-1", lbHost("node-1", "10.0.0.11", normal.get("node-1") ?? [], [false])],
      ["node-2", lbHost("node-2", "10.0.0.12", normal.get("node-2") ?? [], [true, true, false])],
      ["node-3", lbHost("node-3", "10.0.0.13", normal.get("node-3") ?? [], [false])],
    ]);
    (hosts.get("node-2") as FakeHost).on({ prefix: ["sh", "-c"] }, { stdout: "notAfter=Dec 12 07:26:14 2099 GMT\n" });
    const probes: string[] = [];
    const probe = async (host: string, port: number): Promise<boolean> => {
      probes.push(`${host}:${port}`);
      return true;
    };
    const plan: Plan = [
      ...takeOutOfService(input, node2),
      ...putBackInService(input, node2, {
        endpoint: { host: "10.0.0.100", port: 7443 },
        probe,
        servedValidAfter: new Date("2030-01-01T00:00:00Z"),
      }),
    ];
    expect(plan.map((p) => p.title)).toEqual([
      "Take node-2 out of service",
      "node-2 hands the VIP over",
      "node-2's API answers",
      "Put node-2 back in service",
      "API through the load balancer",
    ]);
    await applyPlan(plan, { hosts, reporter: silent, signal: new AbortController().signal });
    for (const [name, host] of hosts) {
      expect(host.files.get("/etc/haproxy/haproxy.cfg")).toBe(content(normal.get(name), "/etc/haproxy/haproxy.cfg"));
      const reloads = host.commandsMatching({ equal: ["systemctl", "reload", "haproxy"] });
      expect(reloads).toHaveLength(2);
    }
    expect(hosts.get("node-2")?.commandsMatching({ prefix: ["ip", "-4", "-o", "addr", "show"] })).toHaveLength(3);
    expect(probes).toEqual(["10.0.0.100:7443"]);
  });

  it("keeps the node out when its API serves the old certificate", async () => {
    const host = lbHost("node-2", "10.0.0.12", normal.get("node-2") ?? [], [false]).on(
      { prefix: ["sh", "-c"] },
      { stdout: "notAfter=Jan 10 00:00:00 2026 GMT\n" },
    );
    const plan = putBackInService(input, node2, {
      probe: async () => true,
      servedValidAfter: new Date("2030-01-01T00:00:00Z"),
    });
    await expect(
      applyPlan(plan, { hosts: new Map([["node-2", host]]), reporter: silent, signal: new AbortController().signal }),
    ).rejects.toThrow(/still serves a certificate that expires 2026-01-10/);
    expect(host.commandsMatching({ equal: ["systemctl", "reload", "haproxy"] })).toHaveLength(0);
  });
});
