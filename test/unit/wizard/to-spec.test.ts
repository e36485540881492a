import { describe, expect, it } from "vitest";
import { parseSpec } from "../../../src/spec/parse.js";
import type { NodeAnswer, WizardAnswers } from "../../../src/wizard/answers.js";
import { answersToSpec, answersToText, sshLayout } from "../../../src/wizard/to-spec.js";

const node = (i: number, extra: Partial<NodeAnswer> = {}): NodeAnswer => ({
  name: `node-${i}`,
  address: `10.0.0.${10 + i}`,
  role: "control-plane",
  user: "root",
  auth: { kind: "agent" },
  ...extra,
});

const base: WizardAnswers = {
  name: "lab",
  distribution: "microk8s",
  version: "1.29",
  nodes: [node(1), node(2), node(3)],
  lbMode: "keepalived-haproxy",
  lbHosts: [],
  lbPorts: [],
  vip: "10.0.0.100",
  iface: undefined,
  apiPort: 7443,
  web: false,
  ha: false,
  systemReplicas: 3,
  evictionTimeoutSeconds: 300,
  autoscaling: false,
  minReplicas: 2,
  maxReplicas: 5,
  linkerd: false,
  external: {},
};

describe("answers → cluster.yaml", () => {
  it("writes a minimal, valid document for the defaults", () => {
    const text = answersToText(base);
    expect(parseSpec(text).problems).toEqual([]);
    expect(answersToSpec(base)).toEqual({
      apiVersion: "hactl.dev/v1alpha1",
      kind: "Cluster",
      metadata: { name: "lab" },
      spec: {
        distribution: { type: "microk8s", version: "1.29" },
        ssh: { user: "root", useAgent: true },
        nodes: base.nodes.map((n) => ({ name: n.name, address: n.address, role: "control-plane" })),
        loadBalancer: { mode: "keepalived-haproxy", vip: "10.0.0.100", apiPort: 7443, web: { enabled: false } },
        ha: { enabled: false },
        autoscaling: { enabled: false },
        linkerd: { enabled: false },
      },
    });
    expect(text).toContain('version: "1.29"');
  });

  it("puts the most common user in spec.ssh and the others on their nodes", () => {
    const layout = sshLayout([node(1, { user: "admin" }), node(2, { user: "ops" }), node(3, { user: "ops" })]);
    expect(layout.ssh).toEqual({ user: "ops", useAgent: true });
    expect(layout.nodes.map((n) => n.ssh)).toEqual([{ user: "admin" }, undefined, undefined]);
  });

  it("gives each node its own login when the nodes do not share one", () => {
    const layout = sshLayout([
      node(1, { auth: { kind: "password", env: "PW_1" } }),
      node(2, { auth: { kind: "key", identityFile: "~/.ssh/k" } }),
      node(3),
    ]);
    expect(layout.ssh).toEqual({ user: "root" });
    expect(layout.nodes.map((n) => n.ssh)).toEqual([
      { password: { env: "PW_1" }, useAgent: false },
      { identityFile: "~/.ssh/k", useAgent: false },
      { useAgent: true },
    ]);
  });

  it("maps autoscaling to Linkerd and metrics-server, and external services to env references", () => {
    const spec = answersToSpec({
      ...base,
      autoscaling: true,
      minReplicas: 3,
      maxReplicas: 9,
      external: { rabbitmq: "MQ", postgresql: "PG" },
    }).spec;
    expect(spec.linkerd).toEqual({ enabled: true });
    expect(spec.addons).toEqual({ metricsServer: true });
    expect(spec.autoscaling).toEqual({ enabled: true, minReplicas: 3, maxReplicas: 9 });
    expect(spec.externalServices).toEqual({ postgresql: { env: "PG" }, rabbitmq: { env: "MQ" } });
  });

  it("maps the external load-balancer mode with its hosts and ports", () => {
    const answers: WizardAnswers = {
      ...base,
      lbMode: "external",
      lbHosts: [
        { name: "lb-1", address: "10.0.0.201" },
        { name: "lb-2", address: "10.0.0.202" },
      ],
      lbPorts: [
        { port: 80, protocol: "tcp" },
        { port: 12201, protocol: "udp" },
      ],
      iface: "eth1",
    };
    const parsed = parseSpec(answersToText(answers));
    expect(parsed.problems).toEqual([]);
    expect(parsed.spec?.spec.loadBalancer).toMatchObject({
      mode: "external",
      vip: "10.0.0.100",
      interface: "eth1",
      external: {
        engine: "nginx",
        hosts: answers.lbHosts,
        ports: [
          { port: 80, protocol: "tcp" },
          { port: 12201, protocol: "udp" },
        ],
      },
    });
  });

  it("leaves the VIP and interface out when there are none", () => {
    const lb = answersToSpec({ ...base, lbMode: "none", vip: undefined }).spec.loadBalancer;
    expect(lb).toEqual({ mode: "none", apiPort: 7443, web: { enabled: false } });
  });
});
