// The lab's host profiles: each kind of machine really is that kind, seen from inside the node and over SSH.
import { execFile } from "node:child_process";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  inNode,
  labDown,
  labUp,
  MIXED_PROFILES,
  PROFILES,
  SILENT_RESOLVER,
  sshArgs,
  type Lab,
  type LabNode,
} from "./lab.mjs";

let lab: Lab;

function ssh(node: LabNode, command: string[]): Promise<{ code: number; stdout: string }> {
  return new Promise((resolve) => {
    execFile("ssh", [...sshArgs(node), ...command], { timeout: 30_000 }, (err, stdout) => {
      resolve({ code: err ? (typeof err.code === "number" ? err.code : 255) : 0, stdout });
    });
  });
}

const node = (i: number): LabNode => lab.nodes[i - 1] as LabNode;

beforeAll(async () => {
  lab = await labUp({
    nodes: 5,
    profiles: [
      PROFILES.plain,
      PROFILES.silentResolver,
      { ...PROFILES.ens18, ...PROFILES.sshPort },
      { ...PROFILES.secondAddress, ...PROFILES.unresolvedName },
      PROFILES.opsSudo,
    ],
  });
});

afterAll(async () => {
  await labDown();
});

describe("lab host profiles", () => {
  it("a silent resolver takes the query and never answers: lookups hang until their timeout", async () => {
    expect((await inNode(node(2), ["cat", "/etc/resolv.conf"])).stdout).toContain(`nameserver ${SILENT_RESOLVER}`);
    const started = Date.now();
    const lookup = await inNode(node(2), ["timeout", "3", "getent", "ahostsv4", "db.example.internal"]);
    expect(lookup.code).toBe(124);
    expect(Date.now() - started).toBeGreaterThanOrEqual(2900);
    // a plain node's resolver fails at once instead (the lab has no route to it): no hang
    const plain = await inNode(node(1), ["timeout", "3", "getent", "ahostsv4", "db.example.internal"]);
    expect(plain.code).toBe(2);
  });

  it("names the interface ens18 and serves SSH on 2222 only", async () => {
    const n = node(3);
    expect(n.iface).toBe("ens18");
    const addr = await inNode(n, ["ip", "-4", "-o", "addr", "show", "dev", "ens18"]);
    expect(addr.stdout).toContain(`${n.address}/24`);
    expect((await inNode(n, ["ip", "link", "show", "eth0"])).code).not.toBe(0);
    const login = await ssh(n, ["hostname"]);
    expect(login.stdout.trim()).toBe("node-3");
    expect(sshArgs(n)).toContain("2222");
    const listening = await inNode(n, ["ss", "-Htln"]);
    expect(listening.stdout).toMatch(/:2222\s/);
    expect(listening.stdout).not.toMatch(/:22\s/);
  });

  it("gives a node a docker0-style second address and leaves its own name out of /etc/hosts", async () => {
    const n = node(4);
    const addrs = await inNode(n, ["ip", "-4", "-o", "addr", "show"]);
    expect(addrs.stdout).toContain("docker0");
    expect(addrs.stdout).toContain("172.17.0.1/16");
    expect((await inNode(n, ["cat", "/etc/hosts"])).stdout).not.toContain("node-4");
    expect((await inNode(n, ["getent", "hosts", "node-4"])).code).not.toBe(0);
    expect((await inNode(node(1), ["getent", "hosts", "node-1"])).stdout).toContain("127.0.1.1");
  });

  it("records each node's profile for cluster.yaml, and cycles the mixed profiles", async () => {
    expect(node(5).profile).toEqual(PROFILES.opsSudo);
    expect(node(1).profile).toEqual({});
    expect(MIXED_PROFILES.length).toBeGreaterThanOrEqual(3);
    const kinds = new Set(MIXED_PROFILES.flatMap((p) => Object.keys(p)));
    expect(kinds).toEqual(new Set(["iface", "sshPort", "resolver", "ownNameResolves", "secondAddress", "login"]));
  });
});
