import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { factsCommand, gatherFacts, interfaceFor, measureClock, parseFacts } from "../../../src/gather/facts.js";
import { FakeHost } from "../../fakes/fake-host.js";

const SCRIPT_OUTPUT = [
  "os_id=ubuntu",
  "os_version=22.04",
  "hostname=node-1",
  "cpus=4",
  "mem_kib=8152036",
  "disk_kib=41943040",
  "nameserver=10.0.0.2",
  "nameserver=10.0.0.3",
  "addr=lo 127.0.0.1/8",
  "addr=eth0 10.0.0.11/24",
  "addr=eth0 10.0.0.100/32",
  "addr=ens4 192.168.5.11/24",
  "listen=0.0.0.0:22",
  "listen=127.0.0.53%lo:53",
  "listen=[::]:22",
  "listen=*:16443",
  "has=snap",
  "has=bash",
  "has=haproxy",
  "resolves=node-1 127.0.1.1",
  "resolves=node-2 10.0.0.12",
  "lookup_timeout=node-3",
  "reach=10.0.0.12:22",
  "reach=10.0.0.13:22",
  "",
].join("\n");

describe("parseFacts", () => {
  const f = parseFacts(SCRIPT_OUTPUT);

  it("reads OS, hostname, CPU, memory in MiB and free disk in GiB", () => {
    expect([f.osId, f.osVersion, f.hostname, f.cpus, f.memoryMiB, f.diskGiB]).toEqual([
      "ubuntu",
      "22.04",
      "node-1",
      4,
      7960,
      40,
    ]);
  });

  it("collects the resolver's nameservers and the names whose lookup timed out", () => {
    expect(f.nameservers).toEqual(["10.0.0.2", "10.0.0.3"]);
    expect(f.lookupTimeouts).toEqual(["node-3"]);
    expect(f.resolves.has("node-3")).toBe(false);
  });

  it("collects IPv4 addresses per interface without prefix length", () => {
    expect([...f.interfaces]).toEqual([
      ["lo", ["127.0.0.1"]],
      ["eth0", ["10.0.0.11", "10.0.0.100"]],
      ["ens4", ["192.168.5.11"]],
    ]);
  });

  it("collects listening ports from IPv4, IPv6, wildcard and scoped addresses", () => {
    expect([...f.listening].sort((a, b) => a - b)).toEqual([22, 53, 16443]);
  });

  it("collects commands, name resolution and reachable peers", () => {
    expect([...f.commands]).toEqual(["snap", "bash", "haproxy"]);
    expect([...f.resolves]).toEqual([
      ["node-1", "127.0.1.1"],
      ["node-2", "10.0.0.12"],
    ]);
    expect([...f.reachable]).toEqual(["10.0.0.12:22", "10.0.0.13:22"]);
  });

  it("ignores noise lines and defaults missing numbers to 0", () => {
    const g = parseFacts("bash: warning: setlocale\ncpus=\nmem_kib=abc\n");
    expect([g.cpus, g.memoryMiB, g.osId]).toEqual([0, 0, ""]);
  });
});

describe("interfaceFor", () => {
  const f = parseFacts(SCRIPT_OUTPUT);
  it("names the interface that carries an address", () => {
    expect(interfaceFor(f, "10.0.0.11")).toBe("eth0");
    expect(interfaceFor(f, "192.168.5.11")).toBe("ens4");
  });
  it("is undefined for an address no interface has (no prefix matching)", () => {
    expect(interfaceFor(f, "10.0.0.1")).toBeUndefined();
  });
});

describe("factsCommand", () => {
  const hostile = ["$(reboot)", "`reboot`", "a; reboot", "node-1'\"", "--probe-not"];

  it("passes names and probes as separate argv elements after a constant script", () => {
    const c = factsCommand(hostile, ["10.0.0.12:22", "$(reboot):22"]);
    expect(c.argv.slice(0, 2)).toEqual(["sh", "-c"]);
    const script = c.argv[2];
    expect(c.argv.slice(3)).toEqual(["hactl-facts", ...hostile, "--probe", "10.0.0.12:22", "$(reboot):22"]);
    expect(script).toBe(factsCommand([], []).argv[2]);
    expect(script).not.toContain("reboot");
    expect(c.sudo).toBeFalsy();
  });

  const dir = mkdtempSync(join(tmpdir(), "hactl-facts-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("never lets the local shell execute a hostile name (script run for real, loopback only)", () => {
    const marker = join(dir, "pwned");
    const name = `$(touch ${marker})`;
    const c = factsCommand([name, `x;touch ${marker}`, "localhost"], ["127.0.0.1:1"]);
    const out = execFileSync(c.argv[0], c.argv.slice(1), { encoding: "utf8", timeout: 20_000 });
    expect(existsSync(marker)).toBe(false);
    const facts = parseFacts(out);
    expect(facts.cpus).toBeGreaterThan(0);
    expect(facts.resolves.get("localhost")).toMatch(/^127\./);
    expect(facts.reachable.has("127.0.0.1:1")).toBe(false);
  });
});

describe("gatherFacts", () => {
  it("reads the clock on its own round trip, then runs the facts script once", async () => {
    const host = new FakeHost("node-1")
      .on({ equal: ["date", "+%s%3N"] }, () => ({ stdout: `${Date.now()}\n` }))
      .on({ prefix: ["sh", "-c"] }, { stdout: SCRIPT_OUTPUT });
    const f = await gatherFacts(host, ["node-1"], ["10.0.0.12:22"]);
    expect(host.commands.map((c) => c.argv[0])).toEqual(["date", "sh"]);
    expect(host.commands[1]?.argv.slice(-3)).toEqual(["node-1", "--probe", "10.0.0.12:22"]);
    expect(f.hostname).toBe("node-1");
    expect(Math.abs(f.clockSkewMs)).toBeLessThan(1_000);
    expect(f.clockErrorMs).toBeLessThan(50);
  });

  it("a facts script slowed by name lookups does not show up as clock skew", async () => {
    const host = new FakeHost("node-1")
      .on({ equal: ["date", "+%s%3N"] }, () => ({ stdout: `${Date.now()}\n` }))
      .on({ prefix: ["sh", "-c"] }, async () => {
        await new Promise((r) => setTimeout(r, 1_500));
        return { stdout: SCRIPT_OUTPUT };
      });
    const f = await gatherFacts(host, ["node-1"], []);
    expect(Math.abs(f.clockSkewMs)).toBeLessThan(200);
  });
});

describe("measureClock", () => {
  /** A clock for the workstation that advances by the given steps, one per read. */
  const steps = (...ms: number[]): (() => number) => {
    let t = 1_700_000_000_000;
    let i = 0;
    return () => (t += ms[i++] ?? 0);
  };

  it("takes the offset against the middle of the round trip, with half the round trip as its error", async () => {
    const host = new FakeHost("n").on({ equal: ["date", "+%s%3N"] }, { stdout: "1700000002020\n" });
    // sent at +0, received at +40: the middle is +20, the node reads +2020
    const clock = await measureClock(host, steps(0, 40));
    expect(clock).toEqual({ offsetMs: 2000, errorMs: 20 });
    expect(host.commandCount).toBe(1);
  });

  it("samples again after a slow round trip and keeps the tightest", async () => {
    const host = new FakeHost("n").on({ equal: ["date", "+%s%3N"] }, { stdout: "1700000005000\n" });
    // round trips of 4000, 600 and 20 ms
    const clock = await measureClock(host, steps(0, 4000, 0, 600, 0, 20));
    expect(host.commandCount).toBe(3);
    expect(clock.errorMs).toBe(10);
  });

  it("reports an unbounded error when the node's date cannot print milliseconds", async () => {
    const host = new FakeHost("n").on({ equal: ["date", "+%s%3N"] }, { stdout: "1700000000%3N\n" });
    expect((await measureClock(host)).errorMs).toBe(Number.POSITIVE_INFINITY);
  });
});

describe("parseFacts: hactl's /etc/hosts block", () => {
  it("keeps the block's lines exactly, tabs included", () => {
    const f = parseFacts("os_id=ubuntu\nhostsblock=10.0.0.11\tnode-1\nhostsblock=10.0.0.12\tnode-2\n");
    expect(f.hostsBlock).toEqual(["10.0.0.11\tnode-1", "10.0.0.12\tnode-2"]);
  });
});
