import { describe, expect, it } from "vitest";
import { parseSpec, setPath, type PathSegment } from "../../../src/spec/index.js";
import { BASE } from "./helpers.js";

/** Sets one field of the base document (through the comment-preserving editor) and validates. */
function withValue(path: PathSegment[], value: unknown) {
  return parseSpec(setPath(BASE, path, value), "hostile.yaml");
}

function expectRejected(path: PathSegment[], value: unknown, expectedPath: string) {
  const { spec, problems } = withValue(path, value);
  expect(spec).toBeUndefined();
  const hit = problems.find((p) => p.path === expectedPath && p.severity === "error");
  expect(
    hit,
    `no error at ${expectedPath} for ${JSON.stringify(value)}; got ${JSON.stringify(problems)}`,
  ).toBeDefined();
  expect(hit?.line).toBeGreaterThan(0);
  expect(hit?.fix.length).toBeGreaterThan(0);
  return hit;
}

const SHELL = [
  "node-1; rm -rf /",
  "$(reboot)",
  "`id`",
  "a|b",
  "a&&b",
  "a>b",
  "a\nb",
  "a b",
  "'quoted'",
  '"dq"',
  "a\\b",
  "${HOME}",
  "*",
  "-oProxyCommand=sh",
];

describe("hostile values are rejected with a problem, never a crash", () => {
  it.each(SHELL)("node name %j", (value) => {
    expectRejected(["spec", "nodes", 0, "name"], value, "spec.nodes[0].name");
  });

  it.each(SHELL)("node address %j", (value) => {
    expectRejected(["spec", "nodes", 1, "address"], value, "spec.nodes[1].address");
  });

  it.each([...SHELL, "Root", "9user", "a".repeat(33)])("ssh user %j", (value) => {
    expectRejected(["spec", "ssh", "user"], value, "spec.ssh.user");
  });

  it.each([...SHELL.filter((s) => s.length > 15 || /[^a-zA-Z0-9_.:-]/.test(s)), "eth0 up", "averyveryverylongif0"])(
    "interface %j",
    (value) => {
      expectRejected(["spec", "loadBalancer", "interface"], value, "spec.loadBalancer.interface");
    },
  );

  it.each(["/tmp/a\nb", "/tmp/\u0000x", "/tmp/\tx", "/tmp/\u001bx", "", "/".repeat(4097)])(
    "identity file path %j",
    (value) => {
      expectRejected(["spec", "ssh", "identityFile"], value, "spec.ssh.identityFile");
    },
  );

  it("a path with spaces and shell characters but no control characters is accepted (it is never given to a shell)", () => {
    expect(withValue(["spec", "ssh", "identityFile"], "~/keys/my key;$(x)").problems).toEqual([]);
  });

  it.each(["1.29; reboot", "latest", "1", "1.29.3", "v1.29"])("distribution version %j", (value) => {
    expectRejected(["spec", "distribution", "version"], value, "spec.distribution.version");
  });

  it.each(["App", "app;x", "a_b", "-app", "a".repeat(64)])("app namespace %j", (value) => {
    expectRejected(["spec", "app", "namespace"], value, "spec.app.namespace");
  });

  it.each(["10.0.0.256", "10.0.0", "10.0.0.100/24", "::1", "vip.example.com"])("VIP %j", (value) => {
    expectRejected(["spec", "loadBalancer", "vip"], value, "spec.loadBalancer.vip");
  });

  it("the bastion address and user", () => {
    expectRejected(["spec", "ssh", "bastion"], { address: "jump;id" }, "spec.ssh.bastion.address");
    expectRejected(["spec", "ssh", "bastion"], { address: "jump", user: "a b" }, "spec.ssh.bastion.user");
  });

  it("a secret env name with shell characters", () => {
    expectRejected(["spec", "ssh", "sudoPassword"], { env: "X;id" }, "spec.ssh.sudoPassword.env");
  });

  it("very long strings are bounded and shown shortened", () => {
    const long = "a".repeat(100_000);
    const hit = expectRejected(["spec", "nodes", 0, "name"], long, "spec.nodes[0].name");
    expect(hit?.message.length).toBeLessThan(400);
    expect(hit?.message).toContain("(100000 characters)");
    expectRejected(["spec", "nodes", 0, "address"], `${"a".repeat(250)}.com`, "spec.nodes[0].address");
  });

  it.each(["nöde-1", "node‐1" /* unicode hyphen */, "노드", "node-1\u200b", "🙂"])("unicode node name %j", (value) => {
    expectRejected(["spec", "nodes", 0, "name"], value, "spec.nodes[0].name");
  });

  it("unicode addresses and users", () => {
    expectRejected(["spec", "nodes", 0, "address"], "１０.0.0.11", "spec.nodes[0].address");
    expectRejected(["spec", "ssh", "user"], "rööt", "spec.ssh.user");
  });

  it("unknown keys are shown escaped and shortened", () => {
    const { problems } = withValue(["spec", "nodes", 0, "x".repeat(200)], 1);
    const hit = problems.find((p) => p.message.includes("unknown field"));
    expect(hit?.message.length).toBeLessThan(200);
  });

  const WRONG_TYPES: [PathSegment[], unknown, string][] = [
    [["spec", "nodes"], "node-1", "spec.nodes"],
    [["spec", "nodes"], {}, "spec.nodes"],
    [["spec", "nodes"], [], "spec.nodes"],
    [["spec", "nodes", 0], "node-1", "spec.nodes[0]"],
    [["spec", "nodes", 0, "name"], 12, "spec.nodes[0].name"],
    [["spec", "nodes", 0, "name"], ["a"], "spec.nodes[0].name"],
    [["spec", "nodes", 0, "role"], true, "spec.nodes[0].role"],
    [["spec", "ssh", "port"], "22; id", "spec.ssh.port"],
    [["spec", "ssh", "port"], 22.5, "spec.ssh.port"],
    [["spec", "ssh", "port"], 0, "spec.ssh.port"],
    [["spec", "ssh", "useAgent"], "yes", "spec.ssh.useAgent"],
    [["spec", "ssh"], [1, 2], "spec.ssh"],
    [["spec", "loadBalancer", "virtualRouterId"], 256, "spec.loadBalancer.virtualRouterId"],
    [["spec", "loadBalancer", "web"], null, "spec.loadBalancer.web"],
    [["spec", "replicas"], { web: "two" }, "spec.replicas.web"],
    [["spec", "ha", "systemReplicas"], 2, "spec.ha.systemReplicas"],
    [["spec", "ha", "evictionTimeoutSeconds"], 301, "spec.ha.evictionTimeoutSeconds"],
    [["metadata"], "prod", "metadata"],
    [["spec"], null, "spec"],
    [["kind"], "Deployment", "kind"],
  ];
  it.each(WRONG_TYPES)("wrong type at %j: %j", (path, value, expected) => {
    expectRejected(path, value, expected);
  });
});
