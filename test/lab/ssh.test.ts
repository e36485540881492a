// The SSH layer against real sshd nodes of the lab: parallel exec, the channel cap, atomic uploads,
// password sudo, host-key refusal and unreachable nodes.
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { HactlError, MultiNodeError } from "../../src/core/errors.js";
import type { RemoteHost } from "../../src/core/host.js";
import { clearSecrets } from "../../src/core/secrets.js";
import { connectAll, connectNode, type ConnectOptions, type SshTarget } from "../../src/ssh/connect.js";
import { fingerprint } from "../../src/ssh/known-hosts.js";
import { MAX_CHANNELS, Ssh2Host } from "../../src/ssh/ssh2-host.js";
import { inNode, LAB_NET, labDown, labUp, stopNode, type Lab, type LabNode } from "./lab.mjs";

let lab: Lab;
let scratch: string;
const logLines: string[] = [];

function node(i: number): LabNode {
  const n = lab.nodes[i];
  if (!n) throw new Error(`lab has no node #${i + 1}`);
  return n;
}

function target(n: LabNode, extra: Partial<SshTarget> = {}): SshTarget {
  return {
    name: n.name,
    address: n.address,
    port: 22,
    user: "root",
    identityFile: lab.sshKey,
    knownHostsFile: lab.knownHosts,
    useAgent: false,
    ...extra,
  };
}

function options(extra: Partial<ConnectOptions> = {}): ConnectOptions {
  return {
    interactive: false,
    acceptNewHostKeys: false,
    connectTimeoutMs: 5000,
    keepaliveIntervalMs: 5000,
    sshConfigFile: false,
    knownHostsFiles: [],
    log: (name, line) => logLines.push(`${name}: ${line}`),
    ...extra,
  };
}

async function rejection(p: Promise<unknown>): Promise<HactlError> {
  try {
    await p;
  } catch (err) {
    if (err instanceof HactlError) return err;
    throw err;
  }
  throw new Error("expected a HactlError, but the call succeeded");
}

/** Established SSH connections the node has from the workstation. */
async function sshConnectionsFromWorkstation(n: LabNode): Promise<number> {
  const res = await inNode(n, ["ss", "-Htn", "state", "established", "( sport = :22 )"]);
  return res.stdout.split("\n").filter((l) => l.includes(`${lab.workstation.address}:`)).length;
}

async function acceptedLogins(n: LabNode): Promise<number> {
  const log = await readFile(join(n.dir, "sshd.log"), "utf8");
  return log.split("\n").filter((l) => l.includes("Accepted ")).length;
}

function knownHostsLine(address: string, text: string): string {
  const line = text.split("\n").find((l) => l.startsWith(`${address} `));
  if (!line) throw new Error(`no known_hosts line for ${address}`);
  return line;
}

beforeAll(async () => {
  lab = await labUp({ nodes: 3 });
  scratch = await mkdtemp(join(tmpdir(), "hactl-ssh-test-"));
});

afterAll(async () => {
  clearSecrets();
  await rm(scratch, { recursive: true, force: true });
  await labDown();
});

describe("SSH layer on the lab", () => {
  it("runs commands on all nodes in parallel over one connection each", async () => {
    const hosts = await connectAll(
      lab.nodes.map((n) => target(n)),
      options(),
    );
    try {
      expect([...hosts.keys()]).toEqual(["node-1", "node-2", "node-3"]);
      const names = await Promise.all([...hosts.values()].map((h) => h.run({ argv: ["hostname"] })));
      expect(names.map((r) => r.stdout.trim())).toEqual(["node-1", "node-2", "node-3"]);
      const more = await Promise.all(
        [...hosts.values()].map((h) => Promise.all([1, 2, 3].map(() => h.run({ argv: ["true"] })))),
      );
      expect(more.flat()).toHaveLength(9);
      for (const [i, n] of lab.nodes.entries()) {
        expect(hosts.get(n.name)?.commandCount).toBe(4);
        expect(await sshConnectionsFromWorkstation(node(i))).toBe(1);
      }
    } finally {
      await Promise.all([...hosts.values()].map((h) => h.close()));
    }
  });

  it("queues beyond 8 channels so 20 parallel commands on one node all succeed", async () => {
    const host = await connectNode(target(node(0)), options());
    try {
      expect(host).toBeInstanceOf(Ssh2Host);
      const running = Array.from({ length: 20 }, (_, i) =>
        host.run({ argv: ["sh", "-c", 'sleep 0.3; echo "$1"', "sh", String(i)] }),
      );
      await new Promise((r) => setImmediate(r));
      expect((host as Ssh2Host).queuedCommands).toBe(20 - MAX_CHANNELS);
      const results = await Promise.all(running);
      expect(results.map((r) => Number(r.stdout))).toEqual(Array.from({ length: 20 }, (_, i) => i));
      expect(host.commandCount).toBe(20);
      expect(await sshConnectionsFromWorkstation(node(0))).toBe(1);
    } finally {
      await host.close();
    }
  });

  it("streams output, passes stdin, reports exit codes and times out slow commands", async () => {
    const host = await connectNode(target(node(1)), options());
    try {
      const chunks: string[] = [];
      const res = await host.exec(
        { argv: ["sh", "-c", "cat; echo oops >&2; exit 7"], stdin: "hello ünïcode\n" },
        { onStdout: (c) => chunks.push(c), onStderr: (c) => chunks.push(c) },
      );
      expect(res).toEqual({ code: 7, stdout: "hello ünïcode\n", stderr: "oops\n" });
      expect(chunks.join("")).toContain("hello ünïcode");
      const failed = await rejection(host.run({ argv: ["sh", "-c", "echo broken >&2; exit 3"] }));
      expect(failed.code).toBe("COMMAND_FAILED");
      expect(failed.details).toBe("broken");
      const started = Date.now();
      const slow = await rejection(host.exec({ argv: ["sleep", "30"], timeoutMs: 400 }));
      expect(slow.code).toBe("COMMAND_TIMEOUT");
      expect(slow.message).toContain("node-2");
      expect(Date.now() - started).toBeLessThan(3000);
      expect((await host.run({ argv: ["echo", "still usable"] })).stdout).toBe("still usable\n");
    } finally {
      await host.close();
    }
  });

  it("uploads atomically: content, mode, backup, and no rewrite of identical content", async () => {
    const host = await connectNode(target(node(0)), options());
    const path = "/etc/haproxy/hactl-ssh-test.cfg";
    try {
      expect(await host.readFile(path)).toBeUndefined();
      expect(await host.writeFile(path, "one\n", { mode: 0o640, backup: true })).toEqual({ changed: true });
      expect(await host.writeFile(path, "one\n", { mode: 0o640, backup: true })).toEqual({ changed: false });
      expect(await host.writeFile(path, "two\n", { mode: 0o640, backup: true })).toEqual({
        changed: true,
        backupPath: `${path}.hactl-bak`,
      });
      const stat = await inNode(node(0), ["stat", "-c", "%a %U", path]);
      expect(stat.stdout.trim()).toBe("640 root");
      expect(await host.readFile(path)).toBe("two\n");
      expect(await host.readFile(`${path}.hactl-bak`)).toBe("one\n");
      expect(await host.writeFile(path, "two\n", { mode: 0o600 })).toEqual({ changed: true });
      expect((await inNode(node(0), ["stat", "-c", "%a", path])).stdout.trim()).toBe("600");
      const leftovers = await inNode(node(0), ["sh", "-c", "ls -a /etc/haproxy /tmp | grep hactl-tmp || true"]);
      expect(leftovers.stdout).toBe("");
      expect((await inNode(node(1), ["test", "-e", path])).code).toBe(1);
    } finally {
      await host.close();
    }
  });

  it("runs password sudo as the non-root ops user without the password showing anywhere", async () => {
    const { name, password } = lab.opsUser;
    const seen: string[] = [];
    const stream = { onStdout: (c: string) => seen.push(c), onStderr: (c: string) => seen.push(c) };
    const noPassword = await connectNode(target(node(2), { user: name }), options());
    try {
      expect((await noPassword.run({ argv: ["id", "-un"] })).stdout.trim()).toBe(name);
      const needs = await rejection(noPassword.exec({ argv: ["id", "-u"], sudo: true }));
      expect(needs.code).toBe("SUDO_NEEDS_PASSWORD");
      expect(needs.remedy).toContain("spec.ssh.sudoPassword");
    } finally {
      await noPassword.close();
    }

    const host = await connectNode(target(node(2), { user: name, sudoPassword: password }), options());
    try {
      const id = await host.run({ argv: ["id", "-u"], sudo: true }, stream);
      expect(id).toEqual({ code: 0, stdout: "0\n", stderr: "" });
      const piped = await host.run({ argv: ["sh", "-c", "cat; id -un"], sudo: true, stdin: "from stdin\n" }, stream);
      expect(piped.stdout).toBe("from stdin\nroot\n");
      const path = "/etc/haproxy/hactl-sudo-test.cfg";
      expect(await host.writeFile(path, "as root\n", { sudo: true, mode: 0o600, owner: "root:root" })).toEqual({
        changed: true,
      });
      expect((await inNode(node(2), ["stat", "-c", "%a %U:%G", path])).stdout.trim()).toBe("600 root:root");
      expect(await host.readFile(path, { sudo: true })).toBe("as root\n");
      expect(await host.writeFile(path, "as root\n", { sudo: true, mode: 0o600, owner: "root:root" })).toEqual({
        changed: false,
      });
      const leftovers = await inNode(node(2), [
        "sh",
        "-c",
        "ls -a /etc/haproxy /tmp | grep -e hactl-tmp -e hactl-upload || true",
      ]);
      expect(leftovers.stdout).toBe("");
    } finally {
      await host.close();
    }

    const wrong = await connectNode(target(node(2), { user: name, sudoPassword: "not-the-password" }), options());
    try {
      const refused = await rejection(wrong.exec({ argv: ["true"], sudo: true }));
      expect(refused.code).toBe("SUDO_FAILED");
    } finally {
      await wrong.close();
    }
    const everything = [...seen, ...logLines].join("\n");
    expect(everything).not.toContain(password);
    const sshdLog = await readFile(join(node(2).dir, "sshd.log"), "utf8");
    expect(sshdLog).not.toContain(password);
  });

  it("refuses a changed host key with the ssh-keygen -R remedy and runs nothing", async () => {
    const real = await readFile(lab.knownHosts, "utf8");
    const forged = knownHostsLine(node(0).address, real).replace(node(0).address, node(1).address);
    const file = join(scratch, "changed_known_hosts");
    await writeFile(file, `${forged}\n`);
    const before = await acceptedLogins(node(1));
    const err = await rejection(
      connectNode(target(node(1), { knownHostsFile: file }), options({ acceptNewHostKeys: true })),
    );
    expect(err.code).toBe("SSH_HOST_KEY_CHANGED");
    expect(err.node).toBe("node-2");
    expect(err.message).toMatch(/man-in-the-middle/);
    expect(err.remedy).toContain(`ssh-keygen -R ${node(1).address} -f ${file}`);
    expect(await acceptedLogins(node(1))).toBe(before);
    expect(await readFile(file, "utf8")).toBe(`${forged}\n`);
  });

  it("refuses an unknown host key when not interactive, and records it when told to", async () => {
    const file = join(scratch, "empty_known_hosts");
    await writeFile(file, "");
    const n = node(2);
    const err = await rejection(connectNode(target(n, { knownHostsFile: file }), options()));
    expect(err.code).toBe("SSH_HOST_KEY_UNKNOWN");
    expect(err.remedy).toContain("--accept-new-host-keys");
    expect(await readFile(file, "utf8")).toBe("");

    const real = knownHostsLine(n.address, await readFile(lab.knownHosts, "utf8"));
    const expected = fingerprint(Buffer.from(real.split(" ")[2] ?? "", "base64"));
    expect(err.message).toContain(expected);

    const asked: string[] = [];
    const declined = await rejection(
      connectNode(
        target(n, { knownHostsFile: file }),
        options({ interactive: true, confirmHostKey: async (name, fp) => (asked.push(`${name} ${fp}`), false) }),
      ),
    );
    expect(declined.code).toBe("USER_ABORTED");
    expect(asked).toEqual([`node-3 ${expected}`]);

    const accepted = await connectNode(target(n, { knownHostsFile: file }), options({ acceptNewHostKeys: true }));
    await accepted.close();
    expect(await readFile(file, "utf8")).toBe(`${real}\n`);
    const again = await connectNode(target(n, { knownHostsFile: file }), options());
    expect((await again.run({ argv: ["hostname"] })).stdout.trim()).toBe("node-3");
    await again.close();
  });

  it("fails clearly and in time for an unreachable address, and connectAll reports every failed node", async () => {
    const ghost: SshTarget = { ...target(node(0)), name: "node-ghost", address: `${LAB_NET}.99` };
    const started = Date.now();
    const err = await rejection(connectNode(ghost, options({ connectTimeoutMs: 4000 })));
    expect(["SSH_UNREACHABLE", "SSH_TIMEOUT"]).toContain(err.code);
    expect(err.message).toContain("node-ghost");
    expect(err.node).toBe("node-ghost");
    expect(err.remedy).toBeTruthy();
    expect(Date.now() - started).toBeLessThan(4000 + 1000);

    const all = await rejection(connectAll([target(node(0)), ghost], options({ connectTimeoutMs: 4000 })));
    expect(all).toBeInstanceOf(MultiNodeError);
    expect((all as MultiNodeError).failures.map((f) => f.node)).toEqual(["node-ghost"]);
    expect(await sshConnectionsFromWorkstation(node(0))).toBe(0);
  });

  it("names a stopped node in a connection error", async () => {
    await stopNode(node(2));
    const err = await rejection(connectNode(target(node(2)), options({ connectTimeoutMs: 4000 })));
    expect(["SSH_UNREACHABLE", "SSH_TIMEOUT", "SSH_REFUSED"]).toContain(err.code);
    expect(err.message).toContain("node-3");
    expect(err.exitCode).toBe(4);
  });

  it("reports a connection that drops while in use as SSH_DISCONNECTED", async () => {
    const host: RemoteHost = await connectNode(target(node(1)), options());
    try {
      const killed = host.exec({ argv: ["sh", "-c", "kill -9 $PPID; sleep 5"] });
      const err = await rejection(killed);
      expect(err.code).toBe("SSH_DISCONNECTED");
      expect(err.node).toBe("node-2");
    } finally {
      await host.close();
    }
  });
});
