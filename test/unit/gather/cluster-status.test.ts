import { describe, expect, it } from "vitest";
import { findVipHolders, observeLoadBalancers, parseBackends } from "../../../src/gather/cluster-status.js";
import { renderExternalLb, renderKeepalivedHaproxy, type LbNode, type RenderedConfig } from "../../../src/lb/index.js";
import { FakeHost, hostMap } from "../../fakes/fake-host.js";

const cps: LbNode[] = [
  { name: "node-1", address: "10.0.0.11" },
  { name: "node-2", address: "10.0.0.12" },
  { name: "node-3", address: "10.0.0.13" },
];
const workers: LbNode[] = [{ name: "worker-1", address: "10.0.0.21" }];

function haproxyCfg(web: boolean): string {
  const files = renderKeepalivedHaproxy({
    clusterName: "lab",
    vip: "10.0.0.100",
    interface: "eth0",
    virtualRouterId: 51,
    unicast: false,
    apiPort: 7443,
    backendApiPort: 16443,
    controlPlanes: cps,
    self: cps[0] as LbNode,
    priority: 150,
    ...(web ? { web: { port: 80, backendPort: 30080, nodes: [...cps, ...workers] } } : {}),
    stats: { port: 8404, user: "admin", password: "statspass" },
  });
  return (files.find((f) => f.path === "/etc/haproxy/haproxy.cfg") as RenderedConfig).content;
}

function nginxConf(backends: LbNode[]): string {
  const files = renderExternalLb({
    engine: "nginx",
    clusterName: "edge",
    self: { name: "lb-1", address: "10.0.0.51" },
    peers: [],
    priority: 150,
    ports: [
      { port: 443, protocol: "tcp" },
      { port: 16443, protocol: "tcp", backends: cps },
      { port: 53, protocol: "udp" },
    ],
    backends,
  });
  return (files.find((f) => f.path === "/etc/nginx/nginx.conf") as RenderedConfig).content;
}

describe("parseBackends", () => {
  it("reads the API servers of a rendered haproxy.cfg (and nothing from timeout/default-server/stats lines)", () => {
    expect(parseBackends(haproxyCfg(false))).toEqual(["10.0.0.11:16443", "10.0.0.12:16443", "10.0.0.13:16443"]);
  });

  it("reads API and web servers of haproxy.cfg with the web frontend", () => {
    expect(parseBackends(haproxyCfg(true))).toEqual([
      "10.0.0.11:16443",
      "10.0.0.12:16443",
      "10.0.0.13:16443",
      "10.0.0.11:30080",
      "10.0.0.12:30080",
      "10.0.0.13:30080",
      "10.0.0.21:30080",
    ]);
  });

  it("reads every upstream server of a rendered nginx.conf, once each, ignoring `server {` blocks", () => {
    expect(parseBackends(nginxConf([...cps, ...workers]))).toEqual([
      "10.0.0.11:443",
      "10.0.0.12:443",
      "10.0.0.13:443",
      "10.0.0.21:443",
      "10.0.0.11:16443",
      "10.0.0.12:16443",
      "10.0.0.13:16443",
      "10.0.0.11:53",
      "10.0.0.12:53",
      "10.0.0.13:53",
      "10.0.0.21:53",
    ]);
  });

  it("returns nothing for a config without servers", () => {
    expect(parseBackends("global\n    daemon\n")).toEqual([]);
  });

  it("reads back a backend hactl rendered with a hostname address", () => {
    const conf = nginxConf([{ name: "web-1", address: "web-1.internal" }]);
    expect(conf).toContain("server web-1.internal:443");
    expect(parseBackends(conf)).toContain("web-1.internal:443");
  });
});

describe("observeLoadBalancers", () => {
  it("probes each backend from the LB machine and reports the service state", async () => {
    const lb = new FakeHost("node-1")
      .withFile("/etc/haproxy/haproxy.cfg", haproxyCfg(false))
      .on({ equal: ["systemctl", "is-active", "haproxy"] }, { stdout: "active\n" })
      .on({ prefix: ["sh", "-c"] }, { stdout: "up 10.0.0.11:16443\ndown 10.0.0.12:16443\nup 10.0.0.13:16443\n" });
    const stopped = new FakeHost("lb-2")
      .withFile("/etc/nginx/nginx.conf", nginxConf(cps))
      .on({ equal: ["systemctl", "is-active", "nginx"] }, { code: 3, stdout: "inactive\n" })
      .on({ prefix: ["sh", "-c"] }, { stdout: "" });
    const seen = await observeLoadBalancers(hostMap(stopped, lb), [
      { name: "lb-2" },
      { name: "node-1" },
      { name: "gone" },
    ]);
    expect(seen.map((o) => [o.machine, o.service, o.active])).toEqual([
      ["lb-2", "nginx", false],
      ["node-1", "haproxy", true],
    ]);
    expect(seen[1]?.backends).toEqual([
      { endpoint: "10.0.0.11:16443", up: true },
      { endpoint: "10.0.0.12:16443", up: false },
      { endpoint: "10.0.0.13:16443", up: true },
    ]);
    expect(seen[0]?.backends.every((b) => !b.up)).toBe(true);
    const probe = lb.commandsMatching({ prefix: ["sh", "-c"] })[0];
    expect(probe?.argv.slice(3)).toEqual(["hactl-probe", "10.0.0.11:16443", "10.0.0.12:16443", "10.0.0.13:16443"]);
  });
});

describe("findVipHolders", () => {
  const addrs = (extra: string): string =>
    `1: lo    inet 127.0.0.1/8 scope host lo\\       valid_lft forever preferred_lft forever\n2: eth0    inet 10.0.0.11/24 brd 10.0.0.255 scope global eth0\\       valid_lft forever${extra}\n`;

  it("names every machine whose interfaces carry the VIP, sorted", async () => {
    const a = new FakeHost("node-2").on(
      { prefix: ["ip"] },
      { stdout: addrs("\n2: eth0    inet 10.0.0.100/32 scope global eth0") },
    );
    const b = new FakeHost("node-1").on({ prefix: ["ip"] }, { stdout: addrs("") });
    const c = new FakeHost("node-3").on(
      { prefix: ["ip"] },
      { stdout: addrs("\n2: eth0    inet 10.0.0.100/24 scope global secondary eth0") },
    );
    expect(await findVipHolders(hostMap(a, b, c), "10.0.0.100")).toEqual(["node-2", "node-3"]);
  });

  it("does not take an address that only starts with the VIP", async () => {
    const a = new FakeHost("node-1").on(
      { prefix: ["ip"] },
      { stdout: addrs("\n2: eth0    inet 10.0.0.101/32 scope global eth0") },
    );
    expect(await findVipHolders(hostMap(a), "10.0.0.10")).toEqual([]);
  });
});
