import { homedir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { hostMatches, parseProxyJump, parseSshConfig, resolveSshConfig } from "../../../src/ssh/ssh-config.js";

const config = parseSshConfig(`
# global defaults come first
IdentityFile ~/.ssh/global_key

Host bastion
  HostName 203.0.113.5
  User jumper
  Port 2200

Host node-? !node-9
  User ops
  Port=2222
  IdentityFile "~/.ssh/nodes key"
  ProxyJump bastion

Host node-1
  User ignored-because-first-wins
  HostName 10.0.0.11

Match host node-1
  User from-match-block

Host *
  User fallback
  Port 22
  IdentityFile %d/.ssh/%h_%r
`);

describe("resolveSshConfig", () => {
  it("takes the first value obtained for each option, like OpenSSH", () => {
    const v = resolveSshConfig(config, "node-1");
    expect(v.user).toBe("ops");
    expect(v.port).toBe(2222);
    expect(v.hostName).toBe("10.0.0.11");
    expect(v.proxyJump).toBe("bastion");
  });

  it("accumulates IdentityFile in order and expands ~ and % tokens", () => {
    const v = resolveSshConfig(config, "node-1");
    expect(v.identityFiles).toEqual([
      join(homedir(), ".ssh/global_key"),
      join(homedir(), ".ssh/nodes key"),
      `${homedir()}/.ssh/10.0.0.11_ops`,
    ]);
  });

  it("honours negated patterns", () => {
    const v = resolveSshConfig(config, "node-9");
    expect(v.user).toBe("fallback");
    expect(v.proxyJump).toBeUndefined();
  });

  it("falls through to Host * and skips Match blocks", () => {
    const v = resolveSshConfig(config, "10.9.9.9");
    expect(v).toMatchObject({ user: "fallback", port: 22 });
    expect(v.hostName).toBeUndefined();
  });

  it("returns nothing for an empty config", () => {
    expect(resolveSshConfig([], "x")).toEqual({ identityFiles: [] });
  });
});

describe("patterns and ProxyJump", () => {
  it("matches * and ? case-insensitively", () => {
    expect(hostMatches(["*.lab"], "n1.LAB")).toBe(true);
    expect(hostMatches(["n?"], "n12")).toBe(false);
    expect(hostMatches(["*", "!secret"], "secret")).toBe(false);
  });

  it("splits ProxyJump hops with users, ports and IPv6 brackets", () => {
    expect(parseProxyJump("jumper@bastion:2200,[fd00::1]:22,plain")).toEqual([
      { host: "bastion", user: "jumper", port: 2200 },
      { host: "fd00::1", port: 22 },
      { host: "plain" },
    ]);
    expect(parseProxyJump("none")).toEqual([]);
  });
});
