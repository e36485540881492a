import { describe, expect, it } from "vitest";
import { HactlError } from "../../../src/core/errors.js";
import { addNode, parseSpec, removeNode, setPath, writeSpec, type ClusterSpecInput } from "../../../src/spec/index.js";
import { fixture, GOOD_FIXTURES } from "./helpers.js";

const COMMENTED = fixture("good/commented.yaml");
const COMMENTS = COMMENTED.split("\n")
  .map((line) => line.slice(line.indexOf("#")))
  .filter((c, i, all) => c.startsWith("#") && all.indexOf(c) === i && !c.includes("spare PSU"));

function expectAllComments(text: string): void {
  for (const comment of COMMENTS) expect(text, `lost comment ${comment}`).toContain(comment);
}

describe("comment-preserving edits", () => {
  it("the fixture itself is valid", () => {
    expect(parseSpec(COMMENTED).problems).toEqual([]);
  });

  it("addNode appends in the file's style and keeps every comment and the key order", () => {
    const out = addNode(COMMENTED, { name: "node-4", address: "10.0.0.14", role: "worker" });
    expectAllComments(out);
    expect(out).toContain("# spare PSU");
    expect(out).toContain(
      "  - { name: node-3, address: 10.0.0.13, role: control-plane }\n  - { name: node-4, address: 10.0.0.14, role: worker }\n",
    );
    const keys = (text: string) => [...text.matchAll(/^ {2}([a-zA-Z]+):/gm)].map((m) => m[1]);
    expect(keys(out)).toEqual(keys(COMMENTED));
    expect(parseSpec(out).spec?.spec.nodes.map((n) => n.name)).toEqual(["node-1", "node-2", "node-3", "node-4"]);
  });

  it("addNode writes a per-node ssh override", () => {
    const out = addNode(COMMENTED, {
      name: "node-4",
      address: "10.0.0.14",
      role: "control-plane",
      ssh: { user: "root", port: 2222 },
    });
    expect(out).toContain(
      "- { name: node-4, address: 10.0.0.14, role: control-plane, ssh: { user: root, port: 2222 } }",
    );
    expect(parseSpec(out).spec?.spec.nodes[3]?.ssh).toEqual({ user: "root", port: 2222 });
  });

  it("addNode keeps block style when the nodes are written as blocks", () => {
    const text = fixture("good/microk8s-3cp-1w-web.yaml");
    const out = addNode(text, { name: "node-4", address: "10.77.0.14", role: "control-plane" });
    expect(out).toContain(
      "    - name: worker-1\n      address: 10.77.0.21\n      role: worker\n    - name: node-4\n      address: 10.77.0.14\n      role: control-plane\n",
    );
    expect(out).toContain("# ops needs a password for sudo");
  });

  it("addNode refuses a name that exists", () => {
    expect(() => addNode(COMMENTED, { name: "node-2", address: "10.0.0.99", role: "worker" })).toThrow(HactlError);
  });

  it("removeNode removes exactly that node and keeps the other comments", () => {
    const out = removeNode(COMMENTED, "node-2");
    expectAllComments(out);
    expect(out).not.toContain("node-2");
    expect(parseSpec(out).doc.toJS().spec.nodes).toEqual([
      { name: "node-1", address: "10.0.0.11", role: "control-plane" },
      { name: "node-3", address: "10.0.0.13", role: "control-plane" },
    ]);
  });

  it("removeNode of an unknown node is a usage error", () => {
    expect(() => removeNode(COMMENTED, "node-9")).toThrow(/node node-9 is not in cluster.yaml/);
  });

  it("setPath changes a scalar in place and keeps its trailing comment", () => {
    const out = setPath(COMMENTED, ["spec", "loadBalancer", "vip"], "10.0.0.200");
    expect(out).toContain("    vip: 10.0.0.200 # reserved in IPAM");
    expectAllComments(out);
  });

  it("setPath creates missing parents, edits flow maps, and deletes with undefined", () => {
    let out = setPath(COMMENTED, ["spec", "autoscaling", "enabled"], true);
    out = setPath(out, ["spec", "linkerd", "enabled"], true);
    out = setPath(out, ["spec", "replicas", "web"], 3);
    out = setPath(out, ["spec", "loadBalancer", "web", "port"], 8080);
    out = setPath(out, ["spec", "autoscaling", "maxReplicas"], undefined);
    expectAllComments(out);
    expect(out).toContain("web: { enabled: true, port: 8080 }");
    const spec = parseSpec(out).spec;
    expect(spec?.spec.autoscaling).toEqual({ enabled: true, minReplicas: 2, maxReplicas: 5, cpuPercent: 80 });
    expect(spec?.spec.linkerd.enabled).toBe(true);
    expect(spec?.spec.replicas).toEqual({ web: 3 });
    expect(out).not.toContain("maxReplicas");
  });

  it("edits refuse a file that is not valid YAML", () => {
    expect(() => setPath("a: [1\nb: 2", ["a"], 1)).toThrow(/not valid YAML/);
  });

  it("an edit without changes gives back the same text", () => {
    for (const name of GOOD_FIXTURES) {
      const text = fixture(`good/${name}`);
      const path = ["metadata", "name"];
      const same = setPath(text, path, parseSpec(text).spec?.metadata.name);
      expect(parseSpec(same).spec).toEqual(parseSpec(text).spec);
    }
    expect(setPath(COMMENTED, ["metadata", "name"], "shop")).toBe(COMMENTED);
  });
});

describe("writeSpec", () => {
  const input: ClusterSpecInput = {
    apiVersion: "hactl.dev/v1alpha1",
    kind: "Cluster",
    metadata: { name: "prod" },
    spec: {
      distribution: { type: "microk8s", version: "1.29" },
      ssh: { user: "ops", sudoPassword: { env: "HACTL_SUDO_PASSWORD" } },
      nodes: [
        { name: "node-1", address: "10.0.0.11", role: "control-plane" },
        { name: "node-2", address: "10.0.0.12", role: "control-plane" },
        { name: "node-3", address: "10.0.0.13", role: "control-plane", ssh: { user: "root" } },
      ],
      loadBalancer: { mode: "keepalived-haproxy", vip: "10.0.0.100" },
    },
  };

  it("writes a header comment and one line per node, and reads back to the same spec", () => {
    const text = writeSpec(input);
    expect(text.startsWith("# hactl cluster definition (apiVersion hactl.dev/v1alpha1).\n")).toBe(true);
    expect(text).toContain('  distribution: { type: microk8s, version: "1.29" }\n');
    expect(text).toContain("    - { name: node-3, address: 10.0.0.13, role: control-plane, ssh: { user: root } }\n");
    const parsed = parseSpec(text);
    expect(parsed.problems).toEqual([]);
    expect(parsed.spec?.spec.nodes).toEqual(input.spec.nodes);
  });

  it("a parsed spec written and read again is unchanged", () => {
    for (const name of GOOD_FIXTURES) {
      const spec = parseSpec(fixture(`good/${name}`)).spec;
      if (!spec) throw new Error(`${name} should parse`);
      expect(parseSpec(writeSpec(spec)).spec).toEqual(spec);
    }
  });
});
