// Issue 17.3: gateway nodes holding a web VIP of their own (schema, rules, rendering, layout, status).
import { describe, expect, it } from "vitest";
import { withNode } from "../../../src/actions/add-node.js";
import { leaveLoadBalancers } from "../../../src/actions/remove-node.js";
import { describePlan } from "../../../src/core/plan.js";
import { planMicrok8sInstall } from "../../../src/phases/install-microk8s.js";
import { HactlError } from "../../../src/core/errors.js";
import { renderKeepalivedHaproxy, type RenderedConfig } from "../../../src/lb/index.js";
import { controlPlanes, cpInput, worker } from "../lb/fixtures.js";
import { lbLayout } from "../../../src/phases/lb-configs.js";
import { formatStatus, statusReport } from "../../../src/phases/status-report.js";
import { formatProblems, parseSpec, virtualRouterIdFor, webVirtualRouterIdFor } from "../../../src/spec/index.js";
import { gatewayNodes } from "../../../src/spec/schema.js";
import { allHealthyFacts } from "../../fakes/facts.js";
import { parseNodes } from "../../../src/distros/kubectl.js";
import { parseStatus } from "../../../src/distros/microk8s.js";
import { nodesJson, statusYaml } from "../../fakes/outputs.js";
import { THREE_CP_ONE_WORKER, specFrom } from "../../fakes/spec.js";

/** Three control planes; node-3 (a control plane) and worker-1, worker-2 are gateway nodes. */
const GATEWAYS = `apiVersion: hactl.dev/v1alpha1
kind: Cluster
metadata:
  name: lab
spec:
  distribution: { type: microk8s, version: "1.29" }
  nodes:
    - { name: node-1, address: 10.0.0.11, role: control-plane }
    - { name: node-2, address: 10.0.0.12, role: control-plane }
    - { name: node-3, address: 10.0.0.13, role: control-plane, gateway: true }
    - { name: worker-1, address: 10.0.0.21, role: worker, gateway: true }
    - { name: worker-2, address: 10.0.0.22, role: worker }
  loadBalancer:
    vip: 10.0.0.100
    virtualRouterId: 51
    web: { enabled: true, vip: 10.0.0.101, virtualRouterId: 52 }
`;

const content = (files: readonly RenderedConfig[] | undefined, path: string): string =>
  files?.find((f) => f.path === path)?.content ?? "";
const KEEPALIVED = "/etc/keepalived/keepalived.conf";
const HAPROXY = "/etc/haproxy/haproxy.cfg";

function problemsOf(text: string): string {
  return formatProblems(parseSpec(text, "c.yaml").problems, "c.yaml");
}

describe("cluster.yaml: gateway nodes and the web VIP", () => {
  it("accepts gateway: true next to either role, and existing files stay valid", () => {
    expect(problemsOf(GATEWAYS)).toBe("");
    expect(problemsOf(THREE_CP_ONE_WORKER)).toBe("");
    const spec = specFrom(GATEWAYS);
    expect(spec.spec.nodes.map((n) => n.gateway === true)).toEqual([false, false, true, true, false]);
    expect(spec.spec.loadBalancer.web).toEqual({
      enabled: true,
      port: 80,
      backendPort: 80,
      vip: "10.0.0.101",
      virtualRouterId: 52,
    });
  });

  it("derives the web router id when unset, never the API VIP's", () => {
    const spec = specFrom(GATEWAYS.replace(", virtualRouterId: 52 }", " }"));
    expect(spec.spec.loadBalancer.web.virtualRouterId).toBe(webVirtualRouterIdFor("lab", 51));
    expect(spec.spec.loadBalancer.web.virtualRouterId).not.toBe(51);
    for (const name of ["a", "prod", "lab", "shop-eu-1", "x".repeat(63)]) {
      const api = virtualRouterIdFor(name);
      expect(webVirtualRouterIdFor(name, api)).not.toBe(api);
      expect(webVirtualRouterIdFor(name, webVirtualRouterIdFor(name, 1))).not.toBe(webVirtualRouterIdFor(name, 1));
    }
  });

  it("refuses a web VIP equal to the API VIP, naming the field and the fix", () => {
    const out = problemsOf(GATEWAYS.replace("vip: 10.0.0.101", "vip: 10.0.0.100"));
    expect(out).toMatch(/error spec\.loadBalancer\.web\.vip: 10\.0\.0\.100 is also loadBalancer\.vip/);
    expect(out).toMatch(/fix: pick another free address for web\.vip/);
  });

  it("refuses a web router id equal to the API's, given or derived", () => {
    const given = problemsOf(GATEWAYS.replace("virtualRouterId: 52", "virtualRouterId: 51"));
    expect(given).toMatch(
      /error spec\.loadBalancer\.web\.virtualRouterId: 51 is also the API VIP's router id \(loadBalancer\.virtualRouterId/,
    );
    expect(given).toMatch(/fix: choose another id .* e\.g\. 52/);
    const derived = virtualRouterIdFor("lab");
    const implicit = problemsOf(
      GATEWAYS.replace("    virtualRouterId: 51\n", "").replace("virtualRouterId: 52", `virtualRouterId: ${derived}`),
    );
    expect(implicit).toMatch(
      new RegExp(
        `error spec\\.loadBalancer\\.web\\.virtualRouterId: ${derived} is also the API VIP's router id \\(loadBalancer\\.virtualRouterId, derived from metadata\\.name when unset\\)`,
      ),
    );
  });

  it("refuses a web VIP without gateway nodes, with web disabled, on a node's address, or with external LB hosts", () => {
    expect(problemsOf(GATEWAYS.replaceAll(", gateway: true", ""))).toMatch(
      /web\.vip: needs gateway nodes to hold it, and no node has gateway: true\n\s+fix: add gateway: true to two or more nodes/,
    );
    expect(problemsOf(GATEWAYS.replace("enabled: true, vip", "enabled: false, vip"))).toMatch(
      /web\.vip: is set but web\.enabled is false/,
    );
    expect(problemsOf(GATEWAYS.replace("vip: 10.0.0.101", "vip: 10.0.0.22"))).toMatch(
      /web\.vip: 10\.0\.0\.22 is the address of spec\.nodes\[4\]/,
    );
    const external = GATEWAYS.replace(
      "    vip: 10.0.0.100\n",
      "    mode: external\n    vip: 10.0.0.100\n    external: { hosts: [{ name: lb-1, address: 10.0.0.5 }, { name: lb-2, address: 10.0.0.6 }], ports: [{ port: 80 }] }\n",
    );
    expect(problemsOf(external)).toMatch(
      /web\.vip: a web VIP on gateway nodes needs mode keepalived-haproxy \(mode is external\)/,
    );
  });

  it("warns about one gateway node (no failover) and about gateway: true without a web VIP", () => {
    expect(problemsOf(GATEWAYS.replace("role: worker, gateway: true", "role: worker"))).toMatch(
      /warning spec\.loadBalancer\.web\.vip: only node-3 is a gateway node, so the web VIP cannot fail over/,
    );
    expect(problemsOf(GATEWAYS.replace(", vip: 10.0.0.101, virtualRouterId: 52", ""))).toMatch(
      /warning spec\.nodes\[2\]\.gateway: has no effect without loadBalancer\.web\.vip/,
    );
  });
});

describe("lbLayout with a web VIP", () => {
  const spec = specFrom(GATEWAYS);
  const layout = lbLayout({ spec, facts: new Map(), backendApiPort: 16443 });

  it("gives the control planes and the gateway workers load-balancer files, packages and nonlocal bind", () => {
    expect([...layout.files.keys()]).toEqual(["node-1", "node-2", "node-3", "worker-1"]);
    expect([...layout.nonlocalBind]).toEqual(["node-1", "node-2", "node-3", "worker-1"]);
    expect(layout.packages.get("worker-1")?.map((p) => p.pkg)).toEqual(["keepalived", "haproxy"]);
  });

  it("a control plane that is no gateway: the API instance and frontend only", () => {
    const files = layout.files.get("node-1");
    expect(content(files, KEEPALIVED)).toContain("vrrp_instance hactl_lab {");
    expect(content(files, KEEPALIVED)).not.toContain("hactl_lab_web");
    expect(content(files, HAPROXY)).toContain("frontend kube-apiserver");
    expect(content(files, HAPROXY)).not.toContain("frontend web");
  });

  it("a control plane that is a gateway: both instances, with their own router ids and VIPs", () => {
    const conf = content(layout.files.get("node-3"), KEEPALIVED);
    const [api, web] = conf.split("vrrp_instance hactl_lab_web {");
    expect(api).toMatch(/virtual_router_id 51\n\s+priority 230\n/);
    expect(api).toContain("10.0.0.100/32 dev eth0");
    expect(web).toMatch(/virtual_router_id 52\n\s+priority 250\n/);
    expect(web).toContain("10.0.0.101/32 dev eth0");
    expect(web).toContain("check_haproxy");
    const haproxy = content(layout.files.get("node-3"), HAPROXY);
    expect(haproxy).toContain("bind 10.0.0.101:80");
    expect(haproxy).toContain("frontend kube-apiserver");
  });

  it("a gateway worker: only the web instance and the web frontend, to the gateway nodes only", () => {
    const files = layout.files.get("worker-1");
    const conf = content(files, KEEPALIVED);
    expect(conf).not.toContain("vrrp_instance hactl_lab {");
    expect(conf).toMatch(/vrrp_instance hactl_lab_web \{[^}]*virtual_router_id 52\n\s+priority 240\n/);
    const haproxy = content(files, HAPROXY);
    expect(haproxy).not.toContain("kube-apiserver");
    expect(haproxy).toContain("bind 10.0.0.101:80");
    expect([...haproxy.matchAll(/^\s+server (\S+) (\S+) check/gm)].map((m) => `${m[1]} ${m[2]}`)).toEqual([
      "node-3 10.0.0.13:80",
      "worker-1 10.0.0.21:80",
    ]);
    // no API port to probe on a worker: the track script checks that haproxy runs
    expect(content(files, "/etc/keepalived/check_haproxy.sh")).not.toContain("/dev/tcp/127.0.0.1/");
  });

  it("unicast: each instance lists its own peers", () => {
    const uni = specFrom(GATEWAYS.replace("virtualRouterId: 51\n", "virtualRouterId: 51\n    unicast: true\n"));
    const conf = content(
      lbLayout({ spec: uni, facts: new Map(), backendApiPort: 16443 }).files.get("node-3"),
      KEEPALIVED,
    );
    const [api, web] = conf.split("vrrp_instance hactl_lab_web {");
    expect(api).toMatch(/unicast_peer \{\n\s+10\.0\.0\.11\n\s+10\.0\.0\.12\n\s+\}/);
    expect(web).toMatch(/unicast_peer \{\n\s+10\.0\.0\.21\n\s+\}/);
  });

  it("a gateway taken out of service leaves the web backends and gets the lowest web priority", () => {
    const out = lbLayout({ spec, facts: new Map(), backendApiPort: 16443, outOfService: new Set(["worker-1"]) });
    expect(content(out.files.get("worker-1"), KEEPALIVED)).toMatch(/hactl_lab_web \{[^}]*priority 1\n/);
    expect(content(out.files.get("node-3"), HAPROXY)).not.toContain("10.0.0.21:80");
  });

  it("without a web VIP, today's files: the web port on the API VIP to every node", () => {
    const plain = specFrom(GATEWAYS.replace(", vip: 10.0.0.101, virtualRouterId: 52", ""));
    const l = lbLayout({ spec: plain, facts: new Map(), backendApiPort: 16443 });
    expect([...l.files.keys()]).toEqual(["node-1", "node-2", "node-3"]);
    const haproxy = content(l.files.get("node-1"), HAPROXY);
    expect(haproxy).toContain("bind 10.0.0.100:80");
    expect([...haproxy.matchAll(/^\s+server \S+ (\S+:80) check/gm)].map((m) => m[1])).toEqual([
      "10.0.0.11:80",
      "10.0.0.12:80",
      "10.0.0.13:80",
      "10.0.0.21:80",
      "10.0.0.22:80",
    ]);
  });
});

describe("renderKeepalivedHaproxy with a web VIP (contract)", () => {
  const web = (over: { address?: string; virtualRouterId?: number } = {}) => ({
    port: 80,
    backendPort: 80,
    nodes: [worker],
    vip: { address: "10.77.0.101", virtualRouterId: 52, gateways: [worker], priority: 250, ...over },
  });

  it("renders a gateway worker that is no control plane", () => {
    const files = renderKeepalivedHaproxy(cpInput({ self: worker, web: web() }));
    expect(content(files, KEEPALIVED)).toContain("vrrp_instance hactl_lab_web {");
  });

  it("refuses a web VIP equal to the API VIP and a shared router id, even on a gateway worker", () => {
    const refused = (fn: () => unknown): string => {
      try {
        fn();
      } catch (e) {
        if (e instanceof HactlError) return e.message;
        throw e;
      }
      return "rendered";
    };
    expect(
      refused(() =>
        renderKeepalivedHaproxy(cpInput({ self: controlPlanes[0]!, web: web({ address: "10.77.0.100" }) })),
      ),
    ).toMatch(/web\.vip 10\.77\.0\.100 is also the API VIP/);
    expect(
      refused(() => renderKeepalivedHaproxy(cpInput({ self: worker, web: web({ virtualRouterId: 51 }) }))),
    ).toMatch(/web\.virtualRouterId 51 is also the API VIP's router id/);
  });
});

describe("remove-node of a gateway node", () => {
  it("stops its keepalived (handing the web VIP over) and haproxy, like a control plane's; a plain worker's are left alone", () => {
    const spec = specFrom(GATEWAYS);
    const node = (name: string) => spec.spec.nodes.find((n) => n.name === name) as (typeof spec.spec.nodes)[number];
    const files = lbLayout({ spec, facts: new Map(), backendApiPort: 16443 }).files;
    const stepIds = (name: string) =>
      leaveLoadBalancers(node(name), files, true).flatMap((p) => p.steps.map((s) => s.id));
    expect(stepIds("worker-1")).toContain("lb-stop:worker-1");
    expect(stepIds("worker-2")).not.toContain("lb-stop:worker-2");
  });
});

describe("hactl status with a web VIP", () => {
  const spec = specFrom(GATEWAYS);
  const names = ["node-1", "node-2", "node-3", "worker-1", "worker-2"];
  const members = [
    { ip: "10.0.0.11", role: "voter" as const },
    { ip: "10.0.0.12", role: "voter" as const },
    { ip: "10.0.0.13", role: "voter" as const },
  ];
  const s = parseStatus(statusYaml({ members }));
  const state = {
    installed: new Set(names),
    snaps: new Map(names.map((n) => [n, { version: "v1.29.3", channel: "1.29/stable", held: true }])),
    status: new Map([
      ["node-1", s],
      ["node-2", s],
      ["node-3", s],
    ]),
    leader: "node-1",
    kubeNodes: parseNodes(nodesJson(names.map((name) => ({ name, worker: name.startsWith("worker") })))),
    datastoreIps: new Set(members.map((m) => m.ip)),
  };
  const api = ["10.0.0.11:16443", "10.0.0.12:16443", "10.0.0.13:16443"];
  const lbs = [
    ...["node-1", "node-2"].map((machine) => ({
      machine,
      service: "haproxy" as const,
      active: true,
      backends: api.map((endpoint) => ({ endpoint, up: true })),
    })),
    {
      machine: "node-3",
      service: "haproxy" as const,
      active: true,
      backends: [...api, "10.0.0.13:80", "10.0.0.21:80"].map((endpoint) => ({ endpoint, up: true })),
    },
    {
      machine: "worker-1",
      service: "haproxy" as const,
      active: true,
      backends: ["10.0.0.13:80", "10.0.0.21:80"].map((endpoint) => ({ endpoint, up: true })),
    },
  ];
  const report = (webVipHolders: string[]) =>
    statusReport({
      spec,
      unreachable: new Set(),
      state,
      vipHolders: ["node-1"],
      webVipHolders,
      loadBalancers: lbs,
      apiPort: 16443,
    });

  it("shows the web VIP holder, and a gateway worker's haproxy is not API drift", () => {
    const r = report(["node-3"]);
    expect(r.problems).toEqual([]);
    expect(r.webVip).toEqual({ address: "10.0.0.101", holders: ["node-3"] });
    expect(formatStatus(r)).toMatch(
      / {2}VIP 10\.0\.0\.100: held by node-1\n {2}web VIP 10\.0\.0\.101: held by node-3\n/,
    );
  });

  it("a web VIP held by nobody, twice, or by a node that is no gateway is a problem", () => {
    expect(report([]).problems).toEqual(["web VIP 10.0.0.101 is held by no gateway node"]);
    expect(report(["node-3", "worker-1"]).problems).toEqual([
      "web VIP 10.0.0.101 is held by node-3 and worker-1 at once (split brain)",
    ]);
    expect(report(["node-1"]).problems).toEqual([
      "web VIP 10.0.0.101 is held by node-1, not a gateway node (drift; run hactl install)",
    ]);
  });
});

describe("add-node --gateway", () => {
  const opts = { name: "worker-3", address: "10.0.0.23", role: "worker" as const, gateway: true, file: "c.yaml" };
  const current = specFrom(GATEWAYS);

  it("appends the node with gateway: true, and makes a listed node a gateway node", () => {
    const text = withNode(GATEWAYS, current, opts);
    expect(text).toContain("    - { name: worker-3, address: 10.0.0.23, role: worker, gateway: true }\n");
    expect(gatewayNodes(specFrom(text)).map((n) => n.name)).toEqual(["node-3", "worker-1", "worker-3"]);
    const listed = withNode(GATEWAYS, current, { ...opts, name: "worker-2", address: undefined });
    expect(listed).toContain("    - { name: worker-2, address: 10.0.0.22, role: worker, gateway: true }\n");
    expect(withNode(GATEWAYS, current, { ...opts, name: "worker-1", address: undefined })).toBe(GATEWAYS);
    expect(withNode(GATEWAYS, current, { ...opts, gateway: false })).toContain(
      "    - { name: worker-3, address: 10.0.0.23, role: worker }\n",
    );
  });

  it("refuses --gateway on a cluster without a web VIP, naming the field to add", () => {
    const plain = GATEWAYS.replace(", vip: 10.0.0.101, virtualRouterId: 52", "");
    const attempt = () => withNode(plain, specFrom(plain), opts);
    expect(attempt).toThrow(/--gateway: c\.yaml has no loadBalancer\.web\.vip/);
    expect(attempt).toThrow(expect.objectContaining({ remedy: expect.stringContaining("vip: <a free address>") }));
  });

  it("reconfigures keepalived and haproxy on the new node and the other gateway nodes only, and the dry run lists them", () => {
    const after = specFrom(withNode(GATEWAYS, current, opts));
    const live = lbLayout({ spec: current, facts: new Map(), backendApiPort: 16443 }).files;
    const wanted = lbLayout({ spec: after, facts: new Map(), backendApiPort: 16443 });
    const stale = new Map(
      [...wanted.files].filter(([m, files]) => JSON.stringify(files) !== JSON.stringify(live.get(m))),
    );
    expect([...stale.keys()]).toEqual(["node-3", "worker-1", "worker-3"]);
    expect(wanted.packages.get("worker-3")?.map((p) => p.pkg)).toEqual(["keepalived", "haproxy"]);
    for (const gateway of ["node-3", "worker-1", "worker-3"]) {
      const haproxy = content(stale.get(gateway), HAPROXY);
      expect(haproxy).toContain("    server worker-3 10.0.0.23:80 check");
      expect(content(stale.get(gateway), KEEPALIVED)).toContain("vrrp_instance hactl_lab_web {");
    }
    expect(content(stale.get("worker-3"), KEEPALIVED)).toMatch(/hactl_lab_web \{[^}]*priority 230\n/);

    const installed = ["node-1", "node-2", "node-3", "worker-1", "worker-2"];
    const members = ["10.0.0.11", "10.0.0.12", "10.0.0.13"];
    const status = parseStatus(statusYaml({ members: members.map((ip) => ({ ip, role: "voter" as const })) }));
    const facts = allHealthyFacts(after);
    const plan = planMicrok8sInstall({
      spec: after,
      facts,
      state: {
        installed: new Set(installed),
        snaps: new Map(installed.map((n) => [n, { version: "v1.29.3", channel: "1.29/stable", held: true }])),
        status: new Map(["node-1", "node-2", "node-3"].map((n) => [n, status])),
        leader: "node-1",
        kubeNodes: parseNodes(nodesJson(installed.map((name) => ({ name })))),
        datastoreIps: new Set(members),
      },
      hostsEntriesFor: new Set(),
      lbFiles: stale,
      lbPackages: wanted.packages,
      nonlocalBind: wanted.nonlocalBind,
      joinAttempts: 3,
    });
    const lbSteps = plan.find((ph) => ph.title === "Configure load balancers")?.steps.map((s) => s.id);
    expect(lbSteps).toEqual(["lb:node-3", "lb:worker-1", "lb:worker-3"]);
    expect(plan.find((ph) => ph.title === "Form the cluster")?.steps.map((s) => s.id)).toEqual(["join:worker-3"]);
    const dryRun = describePlan(plan);
    expect(dryRun).toMatch(/worker-3.*keepalived/);
    expect(dryRun).toContain("/etc/haproxy/haproxy.cfg");
  });
});
