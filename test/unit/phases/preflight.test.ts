import { describe, expect, it } from "vitest";
import { MICROK8S_PORTS } from "../../../src/distros/microk8s.js";
import type { NodeFacts } from "../../../src/gather/facts.js";
import {
  formatPreflight,
  needsHostsEntries,
  peerProbesFor,
  preflightChecks,
  preflightFailed,
  type PreflightCheck,
} from "../../../src/phases/preflight.js";
import type { ClusterSpec } from "../../../src/spec/schema.js";
import { allHealthyFacts, healthyFacts } from "../../fakes/facts.js";
import { THREE_CP_ONE_WORKER, specFrom } from "../../fakes/spec.js";

const spec = specFrom(THREE_CP_ONE_WORKER);

function check(
  opts: { spec?: ClusterSpec; facts?: Map<string, NodeFacts>; installed?: string[]; node?: string } = {},
): PreflightCheck[] {
  const s = opts.spec ?? spec;
  return preflightChecks({
    spec: s,
    nodes: opts.node ? s.spec.nodes.filter((n) => n.name === opts.node) : s.spec.nodes,
    facts: opts.facts ?? allHealthyFacts(s),
    distroPorts: MICROK8S_PORTS,
    installed: new Set(opts.installed ?? []),
  });
}

/** Facts for all nodes, with node-2's replaced by `over`. */
function withNode2(over: Partial<NodeFacts>): Map<string, NodeFacts> {
  const facts = allHealthyFacts(spec);
  facts.set("node-2", healthyFacts(spec, "node-2", over));
  return facts;
}

const find = (checks: PreflightCheck[], node: string, name: string): PreflightCheck | undefined =>
  checks.find((c) => c.node === node && c.check === name);

describe("preflightChecks", () => {
  it("passes a healthy cluster with every check ok", () => {
    const checks = check();
    expect(preflightFailed(checks)).toBe(false);
    expect(checks.every((c) => c.status === "ok")).toBe(true);
    expect(new Set(checks.map((c) => c.check))).toEqual(
      new Set(["ssh+sudo", "os", "cpu", "memory", "disk", "hostname", "names", "clock", "ports", "network"]),
    );
    expect(checks.filter((c) => c.node === "node-1")).toHaveLength(10);
  });

  it("fails an unsupported OS with the supported list as the fix", () => {
    const c = find(check({ facts: withNode2({ osId: "centos", osVersion: "7" }) }), "node-2", "os");
    expect(c).toMatchObject({ status: "fail", message: "centos 7 is not supported" });
    expect(c?.fix).toMatch(/Ubuntu 22\.04\/24\.04 or Debian 12/);
    expect(find(check({ facts: withNode2({ osId: "debian", osVersion: "12" }) }), "node-2", "os")?.status).toBe("ok");
    expect(find(check({ facts: withNode2({ osId: "ubuntu", osVersion: "20.04" }) }), "node-2", "os")?.status).toBe(
      "fail",
    );
  });

  it("fails too few CPUs, too little memory and disk against spec.preflight minimums", () => {
    const small = specFrom(`${THREE_CP_ONE_WORKER}  preflight: { minCpus: 2, minMemoryMiB: 4096, minDiskGiB: 20 }\n`);
    const facts = allHealthyFacts(small);
    facts.set("node-2", healthyFacts(small, "node-2", { cpus: 1, memoryMiB: 4095, diskGiB: 19 }));
    const checks = check({ spec: small, facts });
    expect(find(checks, "node-2", "cpu")).toMatchObject({ status: "fail", message: "1 CPUs (minimum 2)" });
    expect(find(checks, "node-2", "memory")).toMatchObject({ status: "fail", message: "4095 MiB (minimum 4096)" });
    expect(find(checks, "node-2", "disk")?.status).toBe("fail");
    expect(find(checks, "node-2", "disk")?.fix).toMatch(/minDiskGiB/);
    expect(find(checks, "node-1", "cpu")?.status).toBe("ok");
    expect(preflightFailed(checks)).toBe(true);
  });

  it("fails a fully qualified hostname and a hostname that differs from cluster.yaml", () => {
    const fqdn = find(check({ facts: withNode2({ hostname: "node-2.example.com" }) }), "node-2", "hostname");
    expect(fqdn).toMatchObject({ status: "fail", fix: "set the short name: hostnamectl set-hostname node-2" });
    const other = find(check({ facts: withNode2({ hostname: "srv-b" }) }), "node-2", "hostname");
    expect(other?.status).toBe("fail");
    expect(other?.message).toBe("hostname is srv-b, cluster.yaml calls it node-2");
  });

  it("only warns about names that do not resolve (hactl adds /etc/hosts entries)", () => {
    const resolves = new Map([
      ["node-1", "10.0.0.11"],
      ["node-2", "127.0.1.1"],
      ["node-3", "10.9.9.9"],
    ]);
    const checks = check({ facts: withNode2({ resolves }) });
    const names = find(checks, "node-2", "names");
    expect(names?.status).toBe("warn");
    expect(names?.message).toBe("node-3, worker-1 do not resolve to their addresses");
    expect(preflightFailed(checks)).toBe(false);
    expect(needsHostsEntries(checks)).toEqual(new Set(["node-2"]));
  });

  it("accepts the node's own name on loopback (Debian's 127.0.1.1) but not another node's", () => {
    const own = new Map([...healthyFacts(spec, "node-2").resolves, ["node-2", "127.0.1.1"]]);
    expect(find(check({ facts: withNode2({ resolves: own }) }), "node-2", "names")?.status).toBe("ok");
    const other = new Map([...healthyFacts(spec, "node-2").resolves, ["node-1", "127.0.1.1"]]);
    expect(find(check({ facts: withNode2({ resolves: other }) }), "node-2", "names")?.status).toBe("warn");
  });

  it("fails clock skew beyond maxClockSkewSeconds in either direction", () => {
    expect(find(check({ facts: withNode2({ clockSkewMs: -6000 }) }), "node-2", "clock")).toMatchObject({
      status: "fail",
      message: "clock differs by 6.0 s (maximum 5)",
    });
    expect(find(check({ facts: withNode2({ clockSkewMs: 5000 }) }), "node-2", "clock")?.status).toBe("ok");
  });

  it("gives a clock measured on a slow round trip the benefit of its error bound, and says so", () => {
    const slow = find(check({ facts: withNode2({ clockSkewMs: 5600, clockErrorMs: 800 }) }), "node-2", "clock");
    expect(slow).toMatchObject({ status: "ok", message: "clock differs by 5.6 s ± 0.8 s (maximum 5)" });
    expect(find(check({ facts: withNode2({ clockSkewMs: 7000, clockErrorMs: 800 }) }), "node-2", "clock")?.status).toBe(
      "fail",
    );
    expect(
      find(check({ facts: withNode2({ clockErrorMs: Number.POSITIVE_INFINITY }) }), "node-2", "clock"),
    ).toMatchObject({ status: "warn" });
  });

  it("warns about a resolver that does not answer, naming it, and does not fail the node for it", () => {
    const resolves = new Map([["node-2", "127.0.1.1"]]);
    const checks = check({
      facts: withNode2({ lookupTimeouts: ["node-1", "node-3", "worker-1"], resolves, nameservers: ["10.9.9.9"] }),
    });
    expect(find(checks, "node-2", "dns")).toMatchObject({
      status: "warn",
      message: "name lookups got no answer within 2 s (resolver: 10.9.9.9)",
    });
    expect(find(checks, "node-2", "dns")?.fix).toContain("/etc/resolv.conf");
    expect(find(checks, "node-2", "names")?.status).toBe("warn");
    expect(find(checks, "node-2", "clock")?.status).toBe("ok");
    expect(preflightFailed(checks)).toBe(false);
    expect(needsHostsEntries(checks).has("node-2")).toBe(true);
    expect(find(checks, "node-2", "dns")?.fix).not.toContain("sudo");
  });

  it("says that sudo will wait for the resolver when a non-root login's own node name does not resolve", () => {
    const ops = specFrom(
      THREE_CP_ONE_WORKER.replace(
        "name: node-2, address: 10.0.0.12, role: control-plane",
        "name: node-2, address: 10.0.0.12, role: control-plane, ssh: { user: ops }",
      ),
    );
    const facts = allHealthyFacts(ops);
    facts.set("node-2", healthyFacts(ops, "node-2", { lookupTimeouts: ["node-2"], resolves: new Map() }));
    expect(find(check({ spec: ops, facts }), "node-2", "dns")?.fix).toContain(
      'sudo waits for the resolver on every command until node-2 is in its /etc/hosts (add "127.0.1.1 node-2"',
    );
  });

  it("probes each peer's sshd on its own port and lists the distribution's ports in the firewall fix", () => {
    const moved = specFrom(
      THREE_CP_ONE_WORKER.replace(
        "name: node-2, address: 10.0.0.12, role: control-plane",
        "name: node-2, address: 10.0.0.12, role: control-plane, ssh: { port: 2222 }",
      ),
    );
    expect(peerProbesFor(moved, "node-1")).toContain("10.0.0.12:2222");
    const facts = allHealthyFacts(moved);
    facts.set("node-1", healthyFacts(moved, "node-1", { reachable: new Set() }));
    const network = find(check({ spec: moved, facts }), "node-1", "network");
    expect(network?.status).toBe("fail");
    expect(network?.fix).toBe(`open the firewall between the nodes (TCP 22, 2222, ${MICROK8S_PORTS.join(", ")})`);
  });

  it("fails busy MicroK8s ports only where MicroK8s is not installed yet", () => {
    const busy = withNode2({ listening: new Set([22, 16443, 25000]) });
    const fresh = find(check({ facts: busy }), "node-2", "ports");
    expect(fresh).toMatchObject({ status: "fail", message: "port(s) 16443, 25000 already in use" });
    expect(fresh?.fix).toContain("sport = :16443");
    expect(find(check({ facts: busy, installed: ["node-2"] }), "node-2", "ports")).toMatchObject({
      status: "ok",
      message: "7443 free",
    });
    const workerBusy = allHealthyFacts(spec);
    workerBusy.set("worker-1", healthyFacts(spec, "worker-1", { listening: new Set([10250]) }));
    expect(find(check({ facts: workerBusy, installed: ["worker-1"] }), "worker-1", "ports")).toMatchObject({
      status: "ok",
      message: "in use by the running cluster",
    });
  });

  it("fails a busy API port on a control plane until haproxy is installed there", () => {
    const busy = withNode2({ listening: new Set([22, 7443]), commands: new Set(["snap"]) });
    expect(find(check({ facts: busy, installed: ["node-2"] }), "node-2", "ports")?.message).toBe(
      "port(s) 7443 already in use",
    );
    const withHaproxy = withNode2({ listening: new Set([22, 7443]), commands: new Set(["snap", "haproxy"]) });
    expect(find(check({ facts: withHaproxy, installed: ["node-2"] }), "node-2", "ports")?.status).toBe("ok");
  });

  it("has control planes probe every node, and workers the control planes plus the next workers in a ring", () => {
    expect(peerProbesFor(spec, "node-2")).toEqual(["10.0.0.11:22", "10.0.0.13:22", "10.0.0.21:22"]);
    expect(peerProbesFor(spec, "worker-1")).toEqual(["10.0.0.11:22", "10.0.0.12:22", "10.0.0.13:22"]);
    const workers = Array.from(
      { length: 27 },
      (_, i) => `    - { name: w-${i + 1}, address: 10.0.1.${i + 1}, role: worker }`,
    ).join("\n");
    const big = specFrom(THREE_CP_ONE_WORKER.replace(/^.*worker-1.*$/m, workers));
    const probes = big.spec.nodes.map((n) => peerProbesFor(big, n.name));
    expect(probes.flat()).toHaveLength(3 * 29 + 27 * (3 + 4));
    expect(peerProbesFor(big, "w-27")).toEqual([
      "10.0.0.11:22",
      "10.0.0.12:22",
      "10.0.0.13:22",
      "10.0.1.1:22",
      "10.0.1.2:22",
      "10.0.1.3:22",
      "10.0.1.4:22",
    ]);
    for (const n of big.spec.nodes) {
      const probedBy = probes.filter((list) => list.includes(`${n.address}:22`)).length;
      expect(probedBy).toBeGreaterThanOrEqual(n.role === "worker" ? 3 + 4 : 29);
    }
    const c = find(check({ spec: big, facts: allHealthyFacts(big) }), "w-5", "network");
    expect(c).toMatchObject({ status: "ok", message: "reaches the control planes and its worker peers" });
  });

  it("fails peers the node cannot reach, not counting itself", () => {
    const reachable = new Set(["10.0.0.11:22"]);
    const c = find(check({ facts: withNode2({ reachable }) }), "node-2", "network");
    expect(c).toMatchObject({ status: "fail", message: "cannot reach 10.0.0.13:22, 10.0.0.21:22" });
  });

  it("fails a node without facts as an SSH problem", () => {
    const facts = allHealthyFacts(spec);
    facts.delete("node-3");
    expect(check({ facts }).filter((c) => c.node === "node-3")).toEqual([
      {
        node: "node-3",
        check: "ssh",
        status: "fail",
        message: "no facts gathered",
        fix: "check SSH access to the node",
      },
    ]);
  });

  it("checks only the given nodes (day-2 add-node)", () => {
    expect(new Set(check({ node: "worker-1" }).map((c) => c.node))).toEqual(new Set(["worker-1"]));
  });

  it("warns about an even number of control planes, and not about an odd one", () => {
    const four = specFrom(THREE_CP_ONE_WORKER.replace("role: worker", "role: control-plane"));
    const quorum = check({ spec: four }).find((c) => c.check === "quorum");
    expect(quorum).toMatchObject({ node: "cluster", status: "warn" });
    expect(quorum?.message).toMatch(/^4 control-plane nodes/);
    expect(check().some((c) => c.check === "quorum")).toBe(false);
  });
});

describe("formatPreflight", () => {
  it("prints one aligned line per check and the fix under non-ok lines only", () => {
    const out = formatPreflight([
      { node: "node-1", check: "os", status: "ok", message: "ubuntu 22.04", fix: "never shown" },
      {
        node: "node-2",
        check: "names",
        status: "warn",
        message: "node-3 does not resolve",
        fix: "hactl will add /etc/hosts entries",
      },
      { node: "node-2", check: "clock", status: "fail", message: "clock differs by 9.0 s", fix: "enable time sync" },
    ]);
    expect(out.split("\n")).toEqual([
      "  ok    node-1    os        ubuntu 22.04",
      "  warn  node-2    names     node-3 does not resolve",
      "                  fix: hactl will add /etc/hosts entries",
      "  FAIL  node-2    clock     clock differs by 9.0 s",
      "                  fix: enable time sync",
    ]);
  });
});
