import { homedir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { HactlError } from "../../../src/core/errors.js";
import { clearSecrets, registerSecret } from "../../../src/core/secrets.js";
import {
  channelError,
  classifyConnectError,
  commandFailedError,
  commandTimeoutError,
  connectTimeoutError,
  hostKeyChangedError,
  hostKeyUnknownError,
  keygenRemoveCommands,
  stderrTail,
  sudoError,
  type ConnectContext,
} from "../../../src/ssh/classify.js";
import type { KnownHostEntry } from "../../../src/ssh/known-hosts.js";

const ctx: ConnectContext = { node: "node-2", address: "10.0.0.12", port: 22, user: "root", timeoutMs: 10_000 };

function sysError(code: string, level = "client-socket"): Error {
  return Object.assign(new Error(`connect ${code} 10.0.0.12:22`), { code, level });
}

afterEach(() => clearSecrets());

describe("classifyConnectError", () => {
  const cases: [string, Error, string, boolean][] = [
    ["refused", sysError("ECONNREFUSED"), "SSH_REFUSED", true],
    ["no route", sysError("EHOSTUNREACH"), "SSH_UNREACHABLE", true],
    ["no network", sysError("ENETUNREACH"), "SSH_UNREACHABLE", true],
    ["dns", sysError("ENOTFOUND", "client-dns"), "SSH_UNREACHABLE", false],
    ["tcp timeout", sysError("ETIMEDOUT"), "SSH_TIMEOUT", true],
    [
      "handshake timeout",
      Object.assign(new Error("Timed out while waiting for handshake"), { level: "client-timeout" }),
      "SSH_TIMEOUT",
      true,
    ],
    [
      "auth",
      Object.assign(new Error("All configured authentication methods failed"), { level: "client-authentication" }),
      "SSH_AUTH_FAILED",
      false,
    ],
    ["reset", sysError("ECONNRESET"), "SSH_DISCONNECTED", true],
    ["protocol", Object.assign(new Error("bad packet"), { level: "protocol" }), "SSH_DISCONNECTED", true],
  ];
  for (const [label, err, code, retryable] of cases) {
    it(`maps ${label} to ${code}, naming the node, with a remedy`, () => {
      const e = classifyConnectError(err, ctx);
      expect(e.code).toBe(code);
      expect(e.node).toBe("node-2");
      expect(e.message).toContain("node-2");
      expect(e.remedy).toBeTruthy();
      expect(e.retryable).toBe(retryable);
      expect(e.exitCode).toBe(4);
    });
  }

  it("lists the methods tried when authentication fails", () => {
    const e = classifyConnectError(Object.assign(new Error("x"), { level: "client-authentication" }), {
      ...ctx,
      methods: ["ssh-agent", "key /root/.ssh/id_ed25519"],
    });
    expect(e.details).toBe("methods tried: ssh-agent, key /root/.ssh/id_ed25519");
    expect(e.remedy).toContain("ssh root@10.0.0.12 true");
  });

  it("passes HactlErrors through unchanged", () => {
    const original = new HactlError("SSH_HOST_KEY_CHANGED", "x");
    expect(classifyConnectError(original, ctx)).toBe(original);
  });

  it("says how long it waited on a connect timeout", () => {
    expect(connectTimeoutError({ ...ctx, timeoutMs: 1500 }).message).toContain("within 1.5s");
  });
});

describe("host key errors", () => {
  const entry = (file: string, line: number): KnownHostEntry => ({
    file,
    line,
    marker: undefined,
    hosts: "10.0.0.12",
    keyType: "ssh-ed25519",
    key: Buffer.alloc(0),
  });
  const presented = { keyType: "ssh-ed25519", fingerprint: "SHA256:abc" };

  it("refuses a changed key, warns of an attack and gives the exact ssh-keygen -R command with -f", () => {
    const e = hostKeyChangedError(ctx, presented, {
      verdict: "mismatch",
      sameType: [entry("/tmp/kh", 3)],
      onlyCertAuthority: false,
    });
    expect(e.code).toBe("SSH_HOST_KEY_CHANGED");
    expect(e.message).toMatch(/man-in-the-middle/);
    expect(e.message).toContain("/tmp/kh:3");
    expect(e.message).toContain("SHA256:abc");
    expect(e.remedy).toContain("ssh-keygen -R 10.0.0.12 -f /tmp/kh");
  });

  it("omits -f for the default file and brackets non-22 ports", () => {
    const def = join(homedir(), ".ssh", "known_hosts");
    expect(keygenRemoveCommands("10.0.0.12", 22, [def])).toEqual(["ssh-keygen -R 10.0.0.12"]);
    expect(keygenRemoveCommands("10.0.0.12", 2222, [def, "/etc/ssh/ssh_known_hosts", def])).toEqual([
      "ssh-keygen -R '[10.0.0.12]:2222'",
      "ssh-keygen -R '[10.0.0.12]:2222' -f /etc/ssh/ssh_known_hosts",
    ]);
  });

  it("explains an unknown key and the three ways forward", () => {
    const e = hostKeyUnknownError(
      ctx,
      presented,
      { verdict: "unknown", sameType: [], onlyCertAuthority: true },
      "/tmp/kh",
    );
    expect(e.code).toBe("SSH_HOST_KEY_UNKNOWN");
    expect(e.message).toContain("SHA256:abc");
    expect(e.message).toContain("cert-authority");
    expect(e.remedy).toContain("--accept-new-host-keys");
  });
});

describe("command and sudo errors", () => {
  it("reports the exit code and the last 20 stderr lines, redacted", () => {
    registerSecret("s3cr3t-token");
    const stderr = Array.from({ length: 30 }, (_, i) => `line ${i + 1} s3cr3t-token`).join("\n");
    const e = commandFailedError("node-1", ["microk8s", "join", "10.0.0.11:25000/s3cr3t-token"], {
      code: 2,
      stdout: "",
      stderr,
    });
    expect(e.code).toBe("COMMAND_FAILED");
    expect(e.message).toContain("exited with code 2 on node-1");
    expect(e.message).not.toContain("s3cr3t-token");
    const lines = e.details?.split("\n") ?? [];
    expect(lines).toHaveLength(20);
    expect(lines[0]).toBe("line 11 «redacted»");
    expect(e.details).not.toContain("s3cr3t-token");
  });

  it("falls back to stdout when stderr is empty", () => {
    expect(commandFailedError("n", ["x"], { code: 1, stdout: "only stdout\n", stderr: "" }).details).toBe(
      "only stdout",
    );
    expect(stderrTail("a\nb\nc\n", 2)).toBe("b\nc");
  });

  it("names node and command on timeouts and channel loss", () => {
    const t = commandTimeoutError("node-3", ["kubeadm", "init", "--config", "/x"], 250);
    expect(t.code).toBe("COMMAND_TIMEOUT");
    expect(t.message).toBe("kubeadm init --config … did not finish within 250ms on node-3");
    const c = channelError("node-3", ["true"], new Error("(SSH) Channel open failure: open failed"));
    expect(c.code).toBe("SSH_DISCONNECTED");
    expect(c.node).toBe("node-3");
  });

  it("tells a missing sudo password from a wrong one and from no sudo rights", () => {
    const need = sudoError("node-2", "ops", "sudo: a password is required\n", false);
    expect(need.code).toBe("SUDO_NEEDS_PASSWORD");
    expect(need.remedy).toContain("spec.ssh.sudoPassword");
    expect(need.remedy).toContain("NOPASSWD");
    const wrong = sudoError("node-2", "ops", "Sorry, try again.\nsudo: 1 incorrect password attempt\n", true);
    expect(wrong.code).toBe("SUDO_FAILED");
    expect(wrong.message).toContain("rejected the password");
    const denied = sudoError("node-2", "ops", "ops is not in the sudoers file.\n", false);
    expect(denied.code).toBe("SUDO_FAILED");
    expect(denied.remedy).toContain("sudoers");
  });
});
