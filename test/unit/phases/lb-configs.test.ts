import { describe, expect, it } from "vitest";
import { parseBackends } from "../../../src/gather/cluster-status.js";
import type { RenderedConfig } from "../../../src/lb/index.js";
import { lbLayout } from "../../../src/phases/lb-configs.js";
import { allHealthyFacts, healthyFacts } from "../../fakes/facts.js";
import { EXTERNAL_NGINX, THREE_CP_ONE_WORKER, specFrom } from "../../fakes/spec.js";

const content = (files: RenderedConfig[] | undefined, path: string): string =>
  files?.find((f) => f.path === path)?.content ?? "";
const priorityOf = (conf: string): number => Number(/^\s*priority (\d+)$/m.exec(conf)?.[1]);
const interfaceOf = (conf: string): string | undefined => /^\s*interface (\S+)$/m.exec(conf)?.[1];

describe("lbLayout, keepalived-haproxy", () => {
  const spec = specFrom(THREE_CP_ONE_WORKER);
  const facts = allHealthyFacts(spec);
  facts.set(
    "node-2",
    healthyFacts(spec, "node-2", {
      interfaces: new Map([
        ["lo", ["127.0.0.1"]],
        ["ens5", ["10.0.0.12"]],
      ]),
    }),
  );
  facts.delete("node-3");
  const layout = lbLayout({ spec, facts, backendApiPort: 16443 });

  it("renders check script, keepalived.conf and haproxy.cfg for every control plane and nothing for workers", () => {
    expect([...layout.files.keys()]).toEqual(["node-1", "node-2", "node-3"]);
    for (const files of layout.files.values()) {
      expect(files.map((f) => f.path)).toEqual([
        "/etc/keepalived/check_haproxy.sh",
        "/etc/keepalived/keepalived.conf",
        "/etc/haproxy/haproxy.cfg",
      ]);
    }
  });

  it("gives the control planes descending VRRP priorities", () => {
    const priorities = [...layout.files.values()].map((f) => priorityOf(content(f, "/etc/keepalived/keepalived.conf")));
    expect(priorities).toEqual([250, 240, 230]);
  });

  it("takes each node's VRRP interface from its facts, eth0 when unknown", () => {
    const ifaces = [...layout.files.values()].map((f) => interfaceOf(content(f, "/etc/keepalived/keepalived.conf")));
    expect(ifaces).toEqual(["eth0", "ens5", "eth0"]);
  });

  it("prefers spec.loadBalancer.interface over facts", () => {
    const fixed = specFrom(
      THREE_CP_ONE_WORKER.replace("    virtualRouterId: 51", "    virtualRouterId: 51\n    interface: bond0"),
    );
    const l = lbLayout({ spec: fixed, facts, backendApiPort: 16443 });
    expect([...l.files.values()].map((f) => interfaceOf(content(f, "/etc/keepalived/keepalived.conf")))).toEqual([
      "bond0",
      "bond0",
      "bond0",
    ]);
  });

  it("balances the API port to the control planes only", () => {
    const cfg = content(layout.files.get("node-1"), "/etc/haproxy/haproxy.cfg");
    expect(parseBackends(cfg)).toEqual(["10.0.0.11:16443", "10.0.0.12:16443", "10.0.0.13:16443"]);
    expect(cfg).toContain("bind 10.0.0.100:7443");
  });

  it("needs keepalived and haproxy and a non-local bind on every control plane", () => {
    expect([...layout.packages]).toEqual(
      ["node-1", "node-2", "node-3"].map((n) => [
        n,
        [
          { pkg: "keepalived", command: "keepalived" },
          { pkg: "haproxy", command: "haproxy" },
        ],
      ]),
    );
    expect(layout.nonlocalBind).toEqual(new Set(["node-1", "node-2", "node-3"]));
  });

  it("renders nothing for mode none", () => {
    const none = specFrom(
      THREE_CP_ONE_WORKER.replace("    vip: 10.0.0.100\n    virtualRouterId: 51\n", "    mode: none\n"),
    );
    const l = lbLayout({ spec: none, facts, backendApiPort: 16443 });
    expect([l.files.size, l.packages.size, l.nonlocalBind.size]).toEqual([0, 0, 0]);
  });
});

describe("lbLayout, external nginx", () => {
  const spec = specFrom(EXTERNAL_NGINX);
  const layout = lbLayout({ spec, facts: allHealthyFacts(spec), backendApiPort: 16443 });

  it("renders keepalived and nginx files on the LB hosts only", () => {
    expect([...layout.files.keys()]).toEqual(["lb-1", "lb-2"]);
    for (const files of layout.files.values()) {
      expect(files.map((f) => f.path)).toEqual([
        "/etc/keepalived/check_nginx.sh",
        "/etc/keepalived/keepalived.conf",
        "/etc/nginx/nginx.conf",
      ]);
    }
    const prios = [...layout.files.values()].map((f) => priorityOf(content(f, "/etc/keepalived/keepalived.conf")));
    expect(prios).toEqual([250, 240]);
    expect(interfaceOf(content(layout.files.get("lb-2"), "/etc/keepalived/keepalived.conf"))).toBe("ens3");
  });

  it("sends the API port to control planes only and other ports to every node", () => {
    const backends = parseBackends(content(layout.files.get("lb-1"), "/etc/nginx/nginx.conf"));
    expect(backends.filter((b) => b.endsWith(":16443"))).toEqual([
      "10.0.0.11:16443",
      "10.0.0.12:16443",
      "10.0.0.13:16443",
    ]);
    expect(backends.filter((b) => b.endsWith(":443"))).toEqual([
      "10.0.0.11:443",
      "10.0.0.12:443",
      "10.0.0.13:443",
      "10.0.0.21:443",
    ]);
  });

  it("installs nginx plus keepalived and allows the non-local bind on the LB hosts", () => {
    expect(layout.packages.get("lb-1")).toEqual([
      { pkg: "nginx", command: "nginx" },
      { pkg: "keepalived", command: "keepalived" },
    ]);
    expect(layout.nonlocalBind).toEqual(new Set(["lb-1", "lb-2"]));
  });

  it("with the haproxy engine, checks readiness (/readyz) on the API ports only", () => {
    const haproxy = specFrom(EXTERNAL_NGINX.replace("engine: nginx", "engine: haproxy"));
    const cfg = content(
      lbLayout({ spec: haproxy, facts: allHealthyFacts(haproxy), backendApiPort: 16443 }).files.get("lb-1"),
      "/etc/haproxy/haproxy.cfg",
    );
    const backends = cfg.split("\n\n").filter((b) => b.startsWith("backend "));
    const withReadyz = backends
      .filter((b) => b.includes("option httpchk GET /readyz"))
      .map((b) => /backend (\S+)/.exec(b)?.[1]);
    expect(withReadyz.sort()).toEqual(["tcp_16443", "tcp_7443"].sort());
    expect(backends.map((b) => /backend (\S+)/.exec(b)?.[1]).sort()).toEqual([
      "tcp_16443",
      "tcp_443",
      "tcp_7443",
      "tcp_80",
    ]);
  });

  it("renders no keepalived for a single LB host", () => {
    const single = specFrom(EXTERNAL_NGINX.replace("        - { name: lb-2, address: 10.0.0.52 }\n", ""));
    const l = lbLayout({ spec: single, facts: allHealthyFacts(single), backendApiPort: 16443 });
    expect(l.files.get("lb-1")?.map((f) => f.path)).toEqual(["/etc/nginx/nginx.conf"]);
    expect(l.packages.get("lb-1")).toEqual([{ pkg: "nginx", command: "nginx" }]);
    expect(l.nonlocalBind.size).toBe(0);
  });
});
