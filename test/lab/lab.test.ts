// Tests of the lab itself, through plain OpenSSH from the workstation namespace.
import { execFile } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { connect } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  addNodes,
  cutLink,
  inNode,
  LAB_NET,
  LAB_ROOT,
  labDown,
  labNamespaces,
  labUp,
  linkState,
  nodeRunning,
  readLab,
  restoreLink,
  sshArgs,
  startNode,
  stopNode,
  NS_PREFIX,
  SUDOERS_FILE,
  WORKSTATION_NS,
  type Lab,
} from "./lab.mjs";

interface SshResult {
  code: number;
  stdout: string;
  stderr: string;
}

function ssh(node: string, command: string[], opts: { user?: string; input?: string } = {}): Promise<SshResult> {
  return new Promise((resolve) => {
    const child = execFile(
      "ssh",
      [...sshArgs(node, { user: opts.user ?? "root" }), ...command],
      { timeout: 30_000 },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === "number" ? err.code : 255) : 0;
        resolve({ code, stdout, stderr });
      },
    );
    child.stdin?.end(opts.input ?? "");
  });
}

/** The SSH banner a host's port 22 sends, or the connection error. */
function sshBanner(address: string): Promise<string> {
  return new Promise((resolve) => {
    const socket = connect({ host: address, port: 22, timeout: 5000 });
    socket.once("data", (data) => {
      resolve(data.toString("utf8").split("\r\n")[0] ?? "");
      socket.destroy();
    });
    socket.once("timeout", () => {
      resolve("timeout");
      socket.destroy();
    });
    socket.once("error", (err) => resolve(err.message));
  });
}

function hostKeyLine(lab: Lab, address: string): string | undefined {
  return readFileSync(lab.knownHosts, "utf8")
    .split("\n")
    .find((l) => l.startsWith(`${address} `));
}

/** Processes (other than this test's own process) whose command line points into the lab directory. */
function labProcesses(): string[] {
  const found: string[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      const cmd = readFileSync(`/proc/${entry}/cmdline`, "utf8").split("\0").join(" ");
      if (cmd.includes(`${LAB_ROOT}/`) && !cmd.includes("vitest")) found.push(`${entry} ${cmd}`);
    } catch {
      // ended meanwhile
    }
  }
  return found;
}

describe("lab", () => {
  let lab: Lab;

  beforeAll(async () => {
    lab = await labUp({ nodes: 3 });
  });

  afterAll(async () => {
    await labDown();
  });

  it("describes the lab it brought up", () => {
    expect(readLab()).toEqual(lab);
    expect(lab.nodes.map((n) => [n.name, n.address, n.ns])).toEqual([
      ["node-1", `${LAB_NET}.11`, `${NS_PREFIX}node-1`],
      ["node-2", `${LAB_NET}.12`, `${NS_PREFIX}node-2`],
      ["node-3", `${LAB_NET}.13`, `${NS_PREFIX}node-3`],
    ]);
    expect(lab.workstation).toEqual({ ns: WORKSTATION_NS, address: `${LAB_NET}.2` });
    expect(lab.vips).toHaveLength(10);
    expect(lab.iface).toBe("eth0");
    for (const n of lab.nodes)
      expect(hostKeyLine(lab, n.address)).toMatch(
        new RegExp(`^${LAB_NET.replaceAll(".", "\\.")}\\.\\d+ ssh-ed25519 AAAA\\S+$`),
      );
  });

  it("logs in to every node by key with plain ssh and sees the node's own hostname", async () => {
    const results = await Promise.all(lab.nodes.map((n) => ssh(n.name, ["hostname"])));
    expect(results.map((r) => r.stdout.trim())).toEqual(["node-1", "node-2", "node-3"]);
    const log = readFileSync(`${lab.nodes[0]?.dir}/sshd.log`, "utf8");
    expect(log).toContain(`Accepted publickey for root from ${LAB_NET}.2 `);
  });

  it("gives each node its own eth0 address and nothing else routable", async () => {
    const res = await inNode("node-2", ["ip", "-4", "-o", "addr", "show", "dev", "eth0"]);
    expect(res.stdout).toContain(`${LAB_NET}.12/24`);
    const routes = await inNode("node-2", ["ip", "route", "show", "default"]);
    expect(routes.stdout.trim()).toBe("");
  });

  it("keeps /etc/haproxy private per node", async () => {
    const marker = `/etc/haproxy/lab-test-${process.pid}`;
    const write = await ssh("node-1", ["sh", "-c", `'echo node-1 > ${marker}'`]);
    expect(write.code).toBe(0);
    expect((await ssh("node-1", ["cat", marker])).stdout.trim()).toBe("node-1");
    expect((await ssh("node-2", ["test", "-e", marker])).code).toBe(1);
    expect(existsSync(marker)).toBe(false);
    expect(existsSync(`${lab.nodes[0]?.dir}/fs${marker}`)).toBe(true);
  });

  it("gives each node its own /etc, whose files can be replaced atomically", async () => {
    const hosts = await ssh("node-3", ["cat", "/etc/hosts"]);
    expect(hosts.stdout).toContain("127.0.1.1 node-3");
    const replace = await ssh("node-3", [
      "sh",
      "-c",
      `'set -e; cp /etc/hosts /etc/.hosts.new; echo "${LAB_NET}.11 node-1" >> /etc/.hosts.new; mv -f /etc/.hosts.new /etc/hosts'`,
    ]);
    expect(replace.stderr).toBe("");
    expect(replace.code).toBe(0);
    expect((await ssh("node-3", ["cat", "/etc/hosts"])).stdout).toContain(`${LAB_NET}.11 node-1`);
    expect((await ssh("node-2", ["cat", "/etc/hosts"])).stdout).not.toContain(`${LAB_NET}.11 node-1`);
    expect(readFileSync("/etc/hosts", "utf8")).not.toContain("node-1");
    expect((await ssh("node-3", ["cat", "/etc/hostname"])).stdout.trim()).toBe("node-3");
    expect((await ssh("node-3", ["test", "-f", "/etc/nginx/nginx.conf"])).code).toBe(0);
  });

  it("gives the ops user sudo with its password, and not without", async () => {
    const ops = lab.opsUser;
    const withPassword = await ssh("node-1", ["sudo", "-S", "-p", "''", "id", "-u"], {
      user: ops.name,
      input: `${ops.password}\n`,
    });
    expect(withPassword.stdout.trim()).toBe("0");
    expect(withPassword.code).toBe(0);
    const noPassword = await ssh("node-1", ["sudo", "-n", "true"], { user: ops.name });
    expect(noPassword.code).toBe(1);
    expect(noPassword.stderr).toContain("a password is required");
    const whoami = await ssh("node-1", ["id", "-un"], { user: ops.name });
    expect(whoami.stdout.trim()).toBe(ops.name);
  });

  it("refuses a user that has no authorized key", async () => {
    const res = await ssh("node-1", ["true"], { user: "nobody" });
    expect(res.code).toBe(255);
  });

  it("stops a node hard and starts it again with the same host key", async () => {
    const keyBefore = hostKeyLine(lab, `${LAB_NET}.12`);
    await inNode("node-2", ["sh", "-c", "echo kept > /var/lib/hactl-kit/state; echo gone > /run/volatile"]);
    await stopNode("node-2");
    expect(nodeRunning("node-2")).toBe(false);
    expect(await linkState("node-2")).toBe("down");
    const down = await ssh("node-2", ["true"]);
    expect(down.code).toBe(255);
    await expect(inNode("node-2", ["true"])).rejects.toThrow(/not running/);

    await startNode("node-2");
    expect(nodeRunning("node-2")).toBe(true);
    const up = await ssh("node-2", [
      "sh",
      "-c",
      "'hostname; cat /var/lib/hactl-kit/state; test -e /run/volatile || echo fresh-run'",
    ]);
    expect(up.code).toBe(0);
    expect(up.stdout.trim().split("\n")).toEqual(["node-2", "kept", "fresh-run"]);
    expect(hostKeyLine(readLab() as Lab, `${LAB_NET}.12`)).toBe(keyBefore);
  });

  it("cuts and restores a node's link while its processes keep running", async () => {
    await cutLink("node-3");
    expect(await linkState("node-3")).toBe("down");
    expect((await ssh("node-3", ["true"])).code).toBe(255);
    expect(nodeRunning("node-3")).toBe(true);
    const carrier = await inNode("node-3", ["cat", "/sys/class/net/eth0/carrier"]);
    expect(carrier.stdout.trim() === "0" || carrier.code !== 0).toBe(true);
    await restoreLink("node-3");
    expect(await linkState("node-3")).toBe("up");
    expect((await ssh("node-3", ["hostname"])).stdout.trim()).toBe("node-3");
  });

  it("grows the lab with addNodes", async () => {
    const added = await addNodes(1);
    expect(added.map((n) => [n.name, n.address])).toEqual([["node-4", `${LAB_NET}.14`]]);
    expect(readLab()?.nodes.map((n) => n.name)).toEqual(["node-1", "node-2", "node-3", "node-4"]);
    expect((await ssh("node-4", ["hostname"])).stdout.trim()).toBe("node-4");
    expect((await ssh("node-1", ["hostname"])).stdout.trim()).toBe("node-1");
  });

  it("tears everything down", async () => {
    await labDown();
    expect((await labNamespaces()).filter((n) => n !== WORKSTATION_NS)).toEqual([]);
    expect(labProcesses()).toEqual([]);
    expect(existsSync(SUDOERS_FILE)).toBe(false);
    expect(readLab()).toBeUndefined();
    await labDown();
  });
});

describe("a full-size lab", () => {
  afterAll(async () => {
    await labDown();
  });

  it("brings up 30 nodes and 2 load-balancer hosts in under a minute (another lab may run beside it), each with its own sshd", async () => {
    const started = Date.now();
    const lab = await labUp({ nodes: 30, lbHosts: 2 });
    expect(Date.now() - started).toBeLessThan(60_000);
    const hosts = [...lab.nodes, ...lab.lbHosts];
    expect(hosts.map((h) => h.address)).toEqual([
      ...Array.from({ length: 30 }, (_, i) => `${LAB_NET}.${11 + i}`),
      `${LAB_NET}.201`,
      `${LAB_NET}.202`,
    ]);
    const banners = await Promise.all(hosts.map((h) => sshBanner(h.address)));
    expect(banners.every((b) => b.startsWith("SSH-2.0-OpenSSH"))).toBe(true);
    const keys = new Set(hosts.map((h) => hostKeyLine(lab, h.address)?.split(" ")[2]));
    expect(keys.size).toBe(32);
    expect((await ssh("lb-2", ["hostname"])).stdout.trim()).toBe("lb-2");
    expect((await ssh("node-30", ["hostname"])).stdout.trim()).toBe("node-30");
    await expect(addNodes(1)).rejects.toThrow(/at most 30/);
  });
});
