import { describe, expect, it } from "vitest";
import type { NodeAnswer } from "../../../src/wizard/answers.js";
import { askLoadBalancer } from "../../../src/wizard/ask-lb.js";
import { DEFAULT, ScriptedPrompter } from "./scripted.js";

const nodes: NodeAnswer[] = [1, 2, 3].map((i) => ({
  name: `node-${i}`,
  address: `10.0.0.1${i}`,
  role: "control-plane",
  user: "root",
  auth: { kind: "agent" },
}));

describe("the external load-balancer questions", () => {
  it("asks for the hosts, the ports to forward and a VIP for two hosts, and offers their interfaces", async () => {
    const p = new ScriptedPrompter([
      [/^Load balancer/, "external"],
      [/How many load-balancer hosts/, "2"],
      [/Load-balancer host 1: name/, "node-1"],
      [/Load-balancer host 1: name/, DEFAULT],
      [/lb-1: address/, "10.0.0.201"],
      [/Load-balancer host 2: name/, DEFAULT],
      [/lb-2: address/, "10.0.0.201"],
      [/lb-2: address/, "10.0.0.202"],
      [/Port of the Kubernetes API/, DEFAULT],
      [/Other ports the load balancers forward/, "80, 7443"],
      [/Other ports the load balancers forward/, "80, 443, 80"],
      [/Other ports the load balancers forward/, "80, 443, 12201/udp"],
      [/Virtual IP/, "10.0.0.202"],
      [/Virtual IP/, "10.0.0.200"],
      [/Interface that carries the VIP/, DEFAULT],
    ]);
    const seen: string[][] = [];
    const lb = await askLoadBalancer({}, { nodes, distribution: "microk8s" }, p, async (holders) => {
      seen.push(holders.map((h) => h.name));
      return new Map(holders.map((h) => [h.name, new Map([["eth1", [h.address]]])]));
    });
    expect(p.remaining).toBe(0);
    expect(p.refused.map((r) => r.reason)).toEqual([
      "node-1 is already used by another node or load-balancer host",
      "10.0.0.201 is already used by another node or load-balancer host",
      "7443 is the API port, which hactl forwards itself; leave it out",
      "80/tcp is listed twice",
      "10.0.0.202 belongs to a node or load-balancer host; the VIP must be an unused address",
    ]);
    expect(seen).toEqual([["lb-1", "lb-2"]]);
    expect(lb).toEqual({
      lbMode: "external",
      lbHosts: [
        { name: "lb-1", address: "10.0.0.201" },
        { name: "lb-2", address: "10.0.0.202" },
      ],
      lbPorts: [
        { port: 80, protocol: "tcp" },
        { port: 443, protocol: "tcp" },
        { port: 12201, protocol: "udp" },
      ],
      vip: "10.0.0.200",
      iface: "eth1",
      apiPort: 7443,
      web: false,
    });
  });

  it("needs no VIP or interface for a single external host", async () => {
    const p = new ScriptedPrompter([
      [/^Load balancer/, "external"],
      [/How many load-balancer hosts/, DEFAULT],
      [/Load-balancer host 1: name/, DEFAULT],
      [/lb-1: address/, "10.0.0.201"],
      [/Port of the Kubernetes API/, DEFAULT],
      [/Other ports/, DEFAULT],
    ]);
    const lb = await askLoadBalancer({}, { nodes, distribution: "microk8s" }, p);
    expect(p.remaining).toBe(0);
    expect(lb).toMatchObject({
      lbHosts: [{ name: "lb-1" }],
      lbPorts: [{ port: 80 }, { port: 443 }],
      vip: undefined,
      iface: undefined,
    });
  });
});
