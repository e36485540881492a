import { describe, expect, it } from "vitest";
import { withHostsBlock } from "../../../src/phases/hosts-file.js";
import { hostsEntriesStep, nonlocalBindStep, packagesStep } from "../../../src/phases/prepare-hosts.js";
import { FakeHost, hostMap } from "../../fakes/fake-host.js";
import { healthyFacts } from "../../fakes/facts.js";
import { THREE_CP_ONE_WORKER, specFrom } from "../../fakes/spec.js";
import { RunValues } from "../../../src/core/run-values.js";

const DEBIAN_HOSTS =
  "127.0.0.1\tlocalhost\n127.0.1.1\tnode-1\n\n# The following lines are desirable for IPv6 capable hosts\n::1     localhost ip6-localhost ip6-loopback\n";
const entries = [
  { name: "node-1", address: "10.0.0.11" },
  { name: "node-2", address: "10.0.0.12" },
];

describe("withHostsBlock", () => {
  it("appends a managed block and keeps every other line", () => {
    const out = withHostsBlock(DEBIAN_HOSTS, entries);
    expect(out).toBe(
      `${DEBIAN_HOSTS}# BEGIN hactl cluster nodes\n10.0.0.11\tnode-1\n10.0.0.12\tnode-2\n# END hactl cluster nodes\n`,
    );
  });

  it("is idempotent", () => {
    const once = withHostsBlock(DEBIAN_HOSTS, entries);
    expect(withHostsBlock(once, entries)).toBe(once);
  });

  it("replaces the block's entries, keeping lines before and after it", () => {
    const current = `127.0.0.1 localhost\n# BEGIN hactl cluster nodes\n10.0.0.99\told\n# END hactl cluster nodes\n192.168.1.5 printer\n`;
    const out = withHostsBlock(current, entries);
    expect(out).toContain("192.168.1.5 printer");
    expect(out).toContain("127.0.0.1 localhost");
    expect(out).not.toContain("old");
    expect(out.match(/# BEGIN hactl/g)).toHaveLength(1);
    expect(withHostsBlock(out, entries)).toBe(out);
  });

  it("works on an empty or missing file", () => {
    expect(withHostsBlock("", entries)).toBe(
      "# BEGIN hactl cluster nodes\n10.0.0.11\tnode-1\n10.0.0.12\tnode-2\n# END hactl cluster nodes\n",
    );
  });
});

describe("prepare-hosts steps", () => {
  const ctx = (host: FakeHost) => ({
    hosts: hostMap(host),
    signal: new AbortController().signal,
    log: () => undefined,
    values: new RunValues(),
  });

  it("hosts step rewrites /etc/hosts after a backup once, then reports unchanged", async () => {
    const host = new FakeHost("node-1")
      .withFile("/etc/hosts", DEBIAN_HOSTS)
      .on({ regex: /cat > \/etc\/hosts/ }, (c, h) => {
        if (/cp -p \/etc\/hosts \/etc\/hosts\.hactl-bak/.test(c.argv.join(" ")))
          h.files.set("/etc/hosts.hactl-bak", h.files.get("/etc/hosts") ?? "");
        h.files.set("/etc/hosts", c.stdin ?? "");
        return { code: 0 };
      });
    const step = hostsEntriesStep("node-1", entries);
    expect(await step.run(ctx(host))).toBe("changed");
    expect(host.files.get("/etc/hosts")).toBe(withHostsBlock(DEBIAN_HOSTS, entries));
    expect(host.files.get("/etc/hosts.hactl-bak")).toBe(DEBIAN_HOSTS);
    const changes = host.commandCount + host.written.length;
    expect(await step.run(ctx(host))).toBe("unchanged");
    expect(host.commandCount + host.written.length).toBe(changes);
  });

  it("nonlocal-bind step sets the sysctl only when it is not already live", async () => {
    const host = new FakeHost("node-1")
      .on({ equal: ["sysctl", "-n", "net.ipv4.ip_nonlocal_bind"] }, { stdout: "0\n" }, { stdout: "1\n" })
      .on({ prefix: ["sysctl", "-w"] }, { code: 0 });
    const step = nonlocalBindStep("node-1");
    expect(await step.run(ctx(host))).toBe("changed");
    expect(await step.run(ctx(host))).toBe("unchanged");
    expect(host.commandsMatching({ prefix: ["sysctl", "-w"] })).toHaveLength(1);
  });

  it("packages step installs only the missing packages, and is absent when nothing is missing", async () => {
    const spec = specFrom(THREE_CP_ONE_WORKER);
    const wanted = [
      { pkg: "keepalived", command: "keepalived" },
      { pkg: "haproxy", command: "haproxy" },
    ];
    const step = packagesStep("node-1", healthyFacts(spec, "node-1", { commands: new Set(["haproxy"]) }), wanted);
    expect(step?.describe).toEqual([
      "env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends keepalived",
    ]);
    // the dry run's text is the command that runs, word for word
    const host = new FakeHost("node-1").on({ prefix: ["env"] }, { code: 0 });
    expect(await step?.run(ctx(host))).toBe("changed");
    expect(host.lines).toEqual(step?.describe);
    expect(host.commands[0]?.sudo).toBe(true);
    expect(
      packagesStep("node-1", healthyFacts(spec, "node-1", { commands: new Set(["haproxy", "keepalived"]) }), wanted),
    ).toBeUndefined();
  });
});
