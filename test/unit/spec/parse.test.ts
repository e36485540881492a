import { describe, expect, it } from "vitest";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { HactlError } from "../../../src/core/errors.js";
import { effectiveSsh, formatProblems, loadSpecFile, parseSpec, virtualRouterIdFor } from "../../../src/spec/index.js";
import { DEFAULT_K8S_MINOR } from "../../../src/spec/k8s-versions.js";
import { BASE, fixture, GOOD_FIXTURES } from "./helpers.js";

function check(name: string): string {
  const { problems } = parseSpec(fixture(`bad/${name}`), name);
  return formatProblems(problems, name);
}

describe("good files", () => {
  it.each(GOOD_FIXTURES)("%s parses without problems", (name) => {
    const result = parseSpec(fixture(`good/${name}`), name);
    expect(formatProblems(result.problems, name)).toBe("");
    expect(result.spec?.kind).toBe("Cluster");
  });

  it("fills in defaults", () => {
    const spec = parseSpec(fixture("good/microk8s-minimal.yaml")).spec;
    expect(spec?.spec.ssh).toEqual({ user: "root", port: 22, useAgent: true, connectTimeoutSeconds: 10 });
    expect(spec?.spec.loadBalancer).toMatchObject({
      mode: "keepalived-haproxy",
      apiPort: 7443,
      unicast: false,
      web: { enabled: false, port: 80, backendPort: 80 },
      stats: { enabled: false, port: 8404, user: "admin" },
      virtualRouterId: virtualRouterIdFor("prod"),
    });
    expect(spec?.spec.addons).toEqual({ dns: true, haCluster: true, metricsServer: false, hostpathStorage: false });
    expect(spec?.spec.ha).toEqual({ enabled: false, systemReplicas: 3, evictionTimeoutSeconds: 300 });
    expect(spec?.spec.autoscaling).toEqual({ enabled: false, minReplicas: 2, maxReplicas: 5, cpuPercent: 80 });
    expect(spec?.spec.app).toEqual({ namespace: "app", services: [] });
    expect(spec?.spec.replicas).toEqual({});
    expect(spec?.spec.preflight).toEqual({ minCpus: 1, minMemoryMiB: 1024, minDiskGiB: 5, maxClockSkewSeconds: 5 });
  });

  it("fills in kubeadm defaults", () => {
    const text = BASE.replace('{ type: microk8s, version: "1.29" }', "{ type: kubeadm }");
    const spec = parseSpec(text).spec;
    expect(spec?.spec.distribution).toEqual({
      type: "kubeadm",
      version: DEFAULT_K8S_MINOR,
      podNetworkCidr: "10.244.0.0/16",
      cni: {},
    });
  });

  it("takes spec.linkerd.cli for kubeadm, and warns that MicroK8s does not use it", () => {
    const withCli = `${BASE}  linkerd: { enabled: true, cli: ~/.linkerd2/bin/linkerd }\n`;
    const kubeadm = parseSpec(withCli.replace('{ type: microk8s, version: "1.29" }', "{ type: kubeadm }"), "c.yaml");
    expect(formatProblems(kubeadm.problems, "c.yaml")).toBe("");
    expect(kubeadm.spec?.spec.linkerd).toEqual({ enabled: true, cli: "~/.linkerd2/bin/linkerd" });
    expect(formatProblems(parseSpec(withCli, "c.yaml").problems, "c.yaml")).toBe(
      "c.yaml:13:34 warning spec.linkerd.cli: MicroK8s brings Linkerd with its own addon (microk8s enable linkerd), so this CLI is not used\n  fix: remove linkerd.cli, or keep it for a kubeadm cluster only",
    );
  });

  it("derives a stable virtual router id in 1..255 from the cluster name", () => {
    const ids = ["prod", "a", "edge", "x".repeat(63), "shop-eu-1"].map(virtualRouterIdFor);
    for (const id of ids) {
      expect(id).toBeGreaterThanOrEqual(1);
      expect(id).toBeLessThanOrEqual(255);
    }
    expect(virtualRouterIdFor("prod")).toBe(virtualRouterIdFor("prod"));
    expect(parseSpec(fixture("good/microk8s-3cp-1w-web.yaml")).spec?.spec.loadBalancer.virtualRouterId).toBe(51);
  });

  it("merges a node's ssh override over spec.ssh", () => {
    const spec = parseSpec(fixture("good/microk8s-3cp-1w-web.yaml")).spec;
    if (!spec) throw new Error("fixture should parse");
    const [n1, n2] = spec.spec.nodes;
    if (!n1 || !n2) throw new Error("fixture has nodes");
    expect(effectiveSsh(spec, n1)).toEqual({
      user: "root",
      port: 22,
      identityFile: "~/.ssh/id_ed25519",
      knownHostsFile: "~/.ssh/known_hosts",
      useAgent: true,
      connectTimeoutSeconds: 15,
    });
    expect(effectiveSsh(spec, n2)).toMatchObject({
      user: "ops",
      port: 22,
      identityFile: "~/.ssh/id_ed25519",
      sudoPassword: { env: "HACTL_SUDO_PASSWORD" },
    });
    const ext = parseSpec(fixture("good/external-nginx.yaml")).spec;
    if (!ext) throw new Error("fixture should parse");
    const lb2 = ext.spec.loadBalancer.external?.hosts[1];
    expect(lb2 && effectiveSsh(ext, lb2)).toMatchObject({ user: "root", sudoPassword: { env: "HACTL_SUDO_PASSWORD" } });
  });

  it("reads the external LB's ports with tcp as the default protocol", () => {
    const ports = parseSpec(fixture("good/external-nginx.yaml")).spec?.spec.loadBalancer.external?.ports;
    expect(ports?.[0]).toEqual({ port: 80, protocol: "tcp" });
    expect(ports?.[4]).toEqual({ port: 12201, protocol: "udp" });
  });
});

describe("bad files: every problem at once, with line:column and a fix", () => {
  it("wrong role and a literal secret", () => {
    expect(check("wrong-role-and-secret.yaml")).toBe(
      [
        "wrong-role-and-secret.yaml:9:19 error spec.ssh.sudoPassword: secrets are never values in the file: give a reference instead (got a literal value of 14 characters)",
        "  fix: replace the value with a reference, e.g. sudoPassword: { env: HACTL_SUDO_PASSWORD }, and export HACTL_SUDO_PASSWORD before running hactl (or use { file: PATH })",
        'wrong-role-and-secret.yaml:12:49 error spec.nodes[1].role: must be "control-plane" or "worker" (got "master")',
        '  fix: use one of "control-plane" or "worker" (a "master" is a control-plane node), e.g. role: control-plane',
      ].join("\n"),
    );
    expect(check("wrong-role-and-secret.yaml")).not.toContain("hunter2-secret");
  });

  it("duplicate names and addresses, VIP on a node", () => {
    expect(check("duplicates.yaml")).toBe(
      [
        'duplicates.yaml:9:32 error spec.nodes[1].address: "10.0.0.11" is already the address of spec.nodes[0]',
        "  fix: every node needs its own address; remove the duplicate entry or correct the address",
        'duplicates.yaml:10:15 error spec.nodes[2].name: "node-1" is already the name of spec.nodes[0]',
        "  fix: give every node its own name, e.g. node-4",
        "duplicates.yaml:12:10 error spec.loadBalancer.vip: 10.0.0.13 is the address of spec.nodes[2]; the VIP must be an unused address",
        "  fix: pick a free address in the same subnet, e.g. one no machine answers ping on",
      ].join("\n"),
    );
  });

  it("fewer than 3 control-plane nodes, HA with 2 nodes", () => {
    const out = check("too-few-control-planes.yaml");
    expect(out).toContain(
      "too-few-control-planes.yaml:8:5 error spec.nodes: has 1 control-plane node(s); a highly available cluster needs at least 3\n  fix: add control-plane nodes (3 or 5 in total), or set role: control-plane on workers",
    );
    expect(out).toContain(
      "too-few-control-planes.yaml:13:14 error spec.ha.enabled: HA mode needs at least 3 nodes (the file has 2)\n  fix: add nodes to spec.nodes, or set ha.enabled: false",
    );
  });

  it("an even control-plane count and a VIP outside the nodes' /24 are warnings, not errors", () => {
    const result = parseSpec(fixture("bad/even-control-planes.yaml"), "even.yaml");
    expect(result.spec).toBeDefined();
    expect(result.problems.map((p) => `${p.line}:${p.column} ${p.severity} ${p.path}`)).toEqual([
      "8:5 warning spec.nodes",
      "13:10 warning spec.loadBalancer.vip",
    ]);
    expect(result.problems[0]?.message).toBe(
      "spec.nodes: has 4 control-plane nodes; an even count survives no more failures than 3 (quorum needs a majority)",
    );
  });

  it("external mode: two hosts need a VIP, hosts must not be nodes, ports are required", () => {
    expect(check("external-incomplete.yaml")).toBe(
      [
        "external-incomplete.yaml:12:5 error spec.loadBalancer: vip is required when mode is external with two load-balancer hosts (keepalived moves it between them)",
        "  fix: add vip: with a free address on the load-balancer hosts' network, e.g. vip: 10.0.0.100",
        'external-incomplete.yaml:16:19 error spec.loadBalancer.external.hosts[1].name: "node-2" is already the name of spec.nodes[1]',
        "  fix: load-balancer hosts are separate machines: give them their own names, e.g. lb-1",
        "external-incomplete.yaml:16:36 error spec.loadBalancer.external.hosts[1].address: 10.0.0.13 is already the address of spec.nodes[2]",
        "  fix: load-balancer hosts must be separate machines; use mode keepalived-haproxy to balance on the nodes themselves",
        "external-incomplete.yaml:17:14 error spec.loadBalancer.external.ports: lists no ports to forward; the API port is added by hactl, the application ports must be listed",
        "  fix: add ports: [{ port: 80 }, { port: 443 }]",
      ].join("\n"),
    );
  });

  it("application settings: autoscaling bounds, Linkerd, eviction timeout, connection strings", () => {
    expect(check("app-settings.yaml")).toBe(
      [
        "app-settings.yaml:14:14 warning spec.autoscaling.enabled: autoscaling needs Linkerd, so hactl will turn Linkerd on as well (linkerd.enabled is false)",
        "  fix: set linkerd.enabled: true to say so in the file",
        "app-settings.yaml:16:18 error spec.autoscaling.maxReplicas: 3 is less than minReplicas (6)",
        "  fix: set maxReplicas to at least 6",
        "app-settings.yaml:19:29 error spec.ha.evictionTimeoutSeconds: must be at least 10 (got 5)",
        "  fix: use a value of at least 10, e.g. evictionTimeoutSeconds: 10",
        "app-settings.yaml:21:17 error spec.externalServices.postgresql: secrets are never values in the file: give a reference instead (got a literal value of 29 characters)",
        "  fix: replace the value with a reference, e.g. postgresql: { env: HACTL_POSTGRESQL }, and export HACTL_POSTGRESQL before running hactl (or use { file: PATH })",
      ].join("\n"),
    );
  });

  it("typos and wrong types, with suggestions", () => {
    expect(check("typos-and-types.yaml")).toBe(
      [
        "typos-and-types.yaml:6:44 error spec.distribution.version: must be text (got number 1.30)",
        '  fix: quote it: version: "1.30"',
        "typos-and-types.yaml:8:7 error spec.nodes[0].address: is required",
        "  fix: add address: 10.0.0.11 here",
        'typos-and-types.yaml:8:23 error spec.nodes[0].adress: unknown field "adress"',
        '  fix: did you mean "address"? Rename the field, or remove it',
        'typos-and-types.yaml:13:14 error spec.loadBalancer.apiPort: must be a number, not text (got "7443")',
        "  fix: remove the quotes: apiPort: 7443",
        'typos-and-types.yaml:14:10 error spec.loadBalancer.web: must be a mapping (got string "yes")',
        "  fix: write web as a mapping with the fields enabled, port, backendPort, vip, virtualRouterId, e.g. web: { enabled: ... }",
      ].join("\n"),
    );
  });

  it("kubeadm: overlapping networks and the API server's own port", () => {
    expect(check("kubeadm-networks.yaml")).toBe(
      [
        "kubeadm-networks.yaml:9:18 error spec.distribution.serviceCidr: the pod network 10.0.0.0/8 overlaps the service network 10.96.0.0/12",
        "  fix: choose networks that do not overlap, e.g. podNetworkCidr: 10.244.0.0/16 with serviceCidr: 10.96.0.0/12",
        "kubeadm-networks.yaml:16:14 error spec.loadBalancer.apiPort: 6443 is the kubeadm API server's own port on every control-plane node, where haproxy also runs",
        "  fix: keep the default apiPort: 7443",
      ].join("\n"),
    );
  });

  it("YAML syntax errors carry their position", () => {
    const result = parseSpec(fixture("bad/yaml-syntax.yaml"), "yaml-syntax.yaml");
    expect(result.spec).toBeUndefined();
    expect(result.problems).toHaveLength(1);
    expect(result.problems[0]).toMatchObject({ severity: "error", path: "(document)", line: 8, column: 3 });
    expect(result.problems[0]?.message).toMatch(/^\(document\): YAML Flow map .* end with a \}$/);
  });

  it("duplicate keys are YAML errors", () => {
    const { problems } = parseSpec(`${BASE}metadata:\n  name: other\n`);
    expect(problems[0]).toMatchObject({ line: 13, column: 1, severity: "error" });
    expect(problems[0]?.message).toContain("Map keys must be unique");
  });

  it("several documents, tab indentation and collection keys are YAML problems", () => {
    const show = (text: string) => formatProblems(parseSpec(text, "c.yaml").problems, "c.yaml");
    expect(show(`${BASE}---\na: 1\n`)).toBe(
      "c.yaml:13:1 error (document): YAML the file holds more than one document\n  fix: keep one document per file (remove the extra ---)",
    );
    expect(show(BASE.replace("  nodes:", "\tnodes:"))).toContain(
      "c.yaml:7:1 error (document): YAML Tabs are not allowed as indentation\n  fix: indent with spaces, not tabs",
    );
    expect(show(`${BASE}  ? [a]\n  : 1\n`)).toBe(
      "c.yaml:13:5 error (document): a mapping key must be plain text, not a list or mapping\n  fix: write the key as a plain word, e.g. name:",
    );
  });

  it("0.0.0.0, loopback, multicast and broadcast are refused as node addresses and as the VIP", () => {
    const show = (text: string) => formatProblems(parseSpec(text, "c.yaml").problems, "c.yaml");
    expect(show(BASE.replace("address: 10.0.0.12", "address: 0.0.0.0"))).toBe(
      'c.yaml:9:32 error spec.nodes[1].address: 0.0.0.0 is in 0.0.0.0/8 ("this host"), not an address a machine can be reached on\n' +
        "  fix: use the address the other nodes reach this server on (ip -4 addr on the server shows it)",
    );
    expect(show(BASE.replace("address: 10.0.0.13", "address: 127.0.0.1"))).toContain(
      "spec.nodes[2].address: 127.0.0.1 is a loopback address",
    );
    expect(show(BASE.replace("vip: 10.0.0.100", "vip: 224.0.0.18"))).toContain(
      "error spec.loadBalancer.vip: 224.0.0.18 is a multicast address\n  fix: pick a free unicast address",
    );
    expect(show(BASE.replace("vip: 10.0.0.100", "vip: 255.255.255.255"))).toContain(
      "spec.loadBalancer.vip: 255.255.255.255 is a reserved or broadcast address",
    );
  });

  it("an empty file, a list and a scalar are reported, not crashed on", () => {
    for (const text of ["", "# only a comment\n", "- a\n- b\n", "just text", "~"]) {
      const { spec, problems } = parseSpec(text);
      expect(spec).toBeUndefined();
      expect(problems[0]?.message).toMatch(/^\(document\): must be a mapping with apiVersion, kind, metadata and spec/);
    }
  });

  it("a missing key points at its parent mapping", () => {
    const { problems } = parseSpec(
      BASE.replace("  loadBalancer:\n    vip: 10.0.0.100\n", "").replace("metadata:\n  name: prod\n", ""),
    );
    const metadata = problems.find((p) => p.path === "metadata");
    expect(metadata).toMatchObject({
      line: 1,
      column: 1,
      message: "metadata: is required",
      fix: "add metadata: with its fields (name); see docs/cluster-yaml.md",
    });
    const vip = problems.find((p) => p.path === "spec.loadBalancer");
    expect(vip).toMatchObject({
      line: 4,
      column: 3,
      message: "spec.loadBalancer: vip is required when mode is keepalived-haproxy",
    });
  });

  it("a wrong distribution type names the allowed values", () => {
    const { problems } = parseSpec(BASE.replace("type: microk8s", "type: k3s"));
    expect(problems.map((p) => `${p.line}:${p.column} ${p.message}`)).toEqual([
      '6:25 spec.distribution.type: must be "microk8s" or "kubeadm" (got "k3s")',
    ]);
  });

  it("mode none needs no VIP; keepalived-haproxy needs one", () => {
    const noVip = BASE.replace("    vip: 10.0.0.100\n", "    mode: none\n");
    expect(parseSpec(noVip).problems).toEqual([]);
    expect(parseSpec(BASE.replace("    vip: 10.0.0.100\n", "    mode: keepalived-haproxy\n")).spec).toBeUndefined();
  });

  it("external mode with one host needs no VIP", () => {
    const text = BASE.replace(
      "    vip: 10.0.0.100\n",
      "    mode: external\n    external: { hosts: [{ name: lb-1, address: 10.0.0.5 }], ports: [{ port: 443 }] }\n",
    );
    expect(parseSpec(text).problems).toEqual([]);
  });

  it("listener ports on the control-plane nodes must differ", () => {
    const text = BASE.replace(
      "    vip: 10.0.0.100\n",
      "    vip: 10.0.0.100\n    stats: { enabled: true, port: 7443, password: { env: STATS_PW } }\n",
    );
    const { problems } = parseSpec(text);
    expect(problems.map((p) => p.message)).toEqual([
      "spec.loadBalancer.stats.port: 7443 is also loadBalancer.apiPort; each listener needs its own port",
    ]);
  });
});

describe("more cross-field rules", () => {
  const lb = (block: string) => BASE.replace("  loadBalancer:\n    vip: 10.0.0.100\n", block);
  const messages = (text: string) => parseSpec(text).problems.map((p) => `${p.severity} ${p.message}`);

  it("a per-node ssh override is validated like spec.ssh", () => {
    const text = BASE.replace(
      "- { name: node-2, address: 10.0.0.12, role: control-plane }",
      "- { name: node-2, address: 10.0.0.12, role: control-plane, ssh: { user: 'x y', sudoPassword: pw12345 } }",
    );
    expect(parseSpec(text).problems.map((p) => `${p.line}:${p.column} ${p.path}`)).toEqual([
      "9:77 spec.nodes[1].ssh.user",
      "9:98 spec.nodes[1].ssh.sudoPassword",
    ]);
  });

  it("mode external without an external block", () => {
    expect(messages(lb("  loadBalancer:\n    mode: external\n"))).toEqual([
      "error spec.loadBalancer: mode external needs an external: block with 1 or 2 hosts and the ports to forward",
    ]);
  });

  it("an external block with another mode is ignored with a warning", () => {
    expect(
      messages(
        lb("  loadBalancer:\n    vip: 10.0.0.100\n    external: { hosts: [{ name: lb-1, address: 10.0.0.5 }] }\n"),
      ),
    ).toEqual(["warning spec.loadBalancer.external: is ignored because mode is keepalived-haproxy"]);
  });

  it("more than two external hosts, duplicate ports and the API port listed", () => {
    const hosts =
      "[{ name: lb-1, address: 10.0.0.5 }, { name: lb-2, address: 10.0.0.6 }, { name: lb-3, address: 10.0.0.7 }]";
    expect(
      messages(
        lb(
          `  loadBalancer:\n    mode: external\n    vip: 10.0.0.100\n    external: { hosts: ${hosts}, ports: [{ port: 80 }] }\n`,
        ),
      ),
    ).toEqual(["error spec.loadBalancer.external.hosts: may have at most 2 item(s) (got 3)"]);
    expect(
      messages(
        lb(
          "  loadBalancer:\n    mode: external\n    external: { hosts: [{ name: lb-1, address: 10.0.0.5 }], ports: [{ port: 80 }, { port: 80 }, { port: 80, protocol: udp }, { port: 7443 }] }\n",
        ),
      ),
    ).toEqual([
      "error spec.loadBalancer.external.ports[1].port: 80/tcp is already listed at ports[0]",
      "error spec.loadBalancer.external.ports[3].port: 7443/tcp is the API port (loadBalancer.apiPort), which hactl forwards itself",
    ]);
  });

  it("a stats page without a password, replicas for unknown services, more system replicas than nodes", () => {
    const text =
      lb("  loadBalancer:\n    vip: 10.0.0.100\n    stats: { enabled: true }\n") +
      "  app: { services: [main] }\n  replicas: { main: 2, web: 1 }\n  ha: { enabled: true, systemReplicas: 5 }\n";
    const result = parseSpec(text);
    expect(result.spec).toBeDefined();
    expect(result.problems.map((p) => `${p.severity} ${p.message}`)).toEqual([
      "warning spec.loadBalancer.stats: the stats page is enabled without a password",
      'warning spec.replicas.web: "web" is not one of app.services (main)',
      "warning spec.ha.systemReplicas: 5 replicas cannot be spread over 3 nodes",
    ]);
  });

  it("rules still run on the valid sections when another section is broken", () => {
    const text =
      BASE.replace(
        "role: control-plane }\n  loadBalancer",
        "role: control-plane }\n  preflight: { minCpus: lots }\n  loadBalancer",
      ) + "  autoscaling: { minReplicas: 9, maxReplicas: 2 }\n";
    expect(messages(text)).toEqual([
      'error spec.preflight.minCpus: must be a number (got string "lots")',
      "error spec.autoscaling.maxReplicas: 2 is less than minReplicas (9)",
    ]);
  });
});

describe("loadSpecFile", () => {
  const dir = mkdtempSync(join(tmpdir(), "hactl-spec-"));

  it("returns the spec and its warnings", async () => {
    const path = join(dir, "even.yaml");
    writeFileSync(path, fixture("bad/even-control-planes.yaml"));
    const loaded = await loadSpecFile(path);
    expect(loaded.spec.spec.nodes).toHaveLength(4);
    expect(loaded.problems.every((p) => p.severity === "warning")).toBe(true);
  });

  it("a missing file is SPEC_NOT_FOUND with a remedy", async () => {
    const err = await loadSpecFile(join(dir, "nope.yaml")).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(HactlError);
    expect(err).toMatchObject({
      code: "SPEC_NOT_FOUND",
      remedy: "Write one with `hactl init`, or pass the right file with -f PATH.",
    });
  });

  it("an invalid file is SPEC_INVALID with the formatted problems as details", async () => {
    const path = join(dir, "dup.yaml");
    writeFileSync(path, fixture("bad/duplicates.yaml"));
    const err = await loadSpecFile(path).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(HactlError);
    if (!(err instanceof HactlError)) return;
    expect(err.code).toBe("SPEC_INVALID");
    expect(err.exitCode).toBe(2);
    expect(err.message).toBe(`${path} is not valid: 3 errors`);
    expect(err.details?.split("\n")[0]).toBe(
      `${path}:9:32 error spec.nodes[1].address: "10.0.0.11" is already the address of spec.nodes[0]`,
    );
  });
});
