import { afterEach, describe, expect, it } from "vitest";
import { commandLine, describeActions, runs, writes } from "../../../src/core/action.js";
import { actionStep, type StepContext } from "../../../src/core/plan.js";
import { clearSecrets, registerSecret } from "../../../src/core/secrets.js";
import { FakeHost } from "../../fakes/fake-host.js";
import { RunValues } from "../../../src/core/run-values.js";

const ctxFor = (host: FakeHost): StepContext => ({
  hosts: new Map([[host.name, host]]),
  signal: new AbortController().signal,
  log: () => undefined,
  values: new RunValues(),
});

describe("actionStep", () => {
  afterEach(() => clearSecrets());

  it("derives the dry run from the actions: argv joined, files as path and mode, never content", () => {
    const step = actionStep({
      id: "x:n1",
      node: "n1",
      title: "do x",
      actions: [
        runs({ argv: ["apt-get", "install", "-y", "haproxy"], sudo: true, stdin: "on stdin only" }),
        writes("/etc/x.conf", "the content", { mode: 0o600, sudo: true, backup: true }),
        writes("/etc/y.conf", "other", { mode: 0o644 }),
      ],
      after: ["install:n1"],
    });
    expect(step.describe).toEqual([
      "apt-get install -y haproxy",
      "write /etc/x.conf (0600, backup kept)",
      "write /etc/y.conf (0644)",
    ]);
    expect(step.after).toEqual(["install:n1"]);
    expect(step.describe.join("\n")).not.toContain("content");
    expect(step.describe.join("\n")).not.toContain("stdin");
  });

  it("shows an inline script as <script>, with its summary when the command has one", () => {
    expect(commandLine({ argv: ["sh", "-c", "set -e\nrm -rf /x", "hactl-x", "/x"] })).toBe("sh -c <script> hactl-x /x");
    expect(commandLine({ argv: ["sh", "-c", "set -e\ntrue", "a"], summary: "does a thing" })).toBe(
      "sh -c <script: does a thing> a",
    );
  });

  it("masks a registered secret that found its way into an argument", () => {
    registerSecret("s3cr3t-value");
    expect(describeActions([runs({ argv: ["tool", "--token=s3cr3t-value"] })])).toEqual(["tool --token=«redacted»"]);
  });

  it("runs the actions in order; unchanged only when every action is a write that found the file so", async () => {
    const host = new FakeHost("n1").withFile("/etc/y.conf", "same").on({ prefix: ["systemctl"] }, { code: 0 });
    const writesOnly = actionStep({
      id: "w:n1",
      node: "n1",
      title: "w",
      actions: [writes("/etc/y.conf", "same", { mode: 0o644, sudo: true })],
    });
    expect(await writesOnly.run(ctxFor(host))).toBe("unchanged");
    const prepared = actionStep({
      id: "p:n1",
      node: "n1",
      title: "p",
      actions: [
        runs({ argv: ["systemctl", "daemon-reload"] }, { preparation: true }),
        writes("/etc/y.conf", "same", { mode: 0o644, sudo: true }),
      ],
    });
    expect(await prepared.run(ctxFor(host))).toBe("unchanged");
    const withCommand = actionStep({
      id: "c:n1",
      node: "n1",
      title: "c",
      actions: [
        writes("/etc/z.conf", "new", { mode: 0o640, sudo: true }),
        runs({ argv: ["systemctl", "restart", "z"] }),
      ],
    });
    expect(await withCommand.run(ctxFor(host))).toBe("changed");
    expect(host.written.map((w) => [w.path, w.options])).toEqual([
      ["/etc/y.conf", { mode: 0o644, sudo: true }],
      ["/etc/y.conf", { mode: 0o644, sudo: true }],
      ["/etc/z.conf", { mode: 0o640, sudo: true }],
    ]);
    expect(host.lines).toEqual(["systemctl daemon-reload", "systemctl restart z"]);
  });

  it("stops at the first failing command", async () => {
    const host = new FakeHost("n1").on({ equal: ["false"] }, { code: 1, stderr: "no" });
    const step = actionStep({
      id: "f:n1",
      node: "n1",
      title: "f",
      actions: [runs({ argv: ["false"] }), runs({ argv: ["true"] })],
    });
    await expect(step.run(ctxFor(host))).rejects.toMatchObject({ code: "COMMAND_FAILED" });
    expect(host.lines).toEqual(["false"]);
  });

  it("Ctrl-C stops before the next action and reaches only interruptible commands", async () => {
    const abort = new AbortController();
    const seen: (AbortSignal | undefined)[] = [];
    const host = new FakeHost("n1").on({ prefix: ["apt-get"] }, () => {
      abort.abort();
      return { code: 0 };
    });
    const run = host.run.bind(host);
    host.run = (command, opts) => {
      seen.push(opts?.signal);
      return run(command, opts);
    };
    const step = actionStep({
      id: "a:n1",
      node: "n1",
      title: "a",
      actions: [runs({ argv: ["apt-get", "install", "-y", "x"] }, { uninterruptible: true }), runs({ argv: ["true"] })],
    });
    await expect(
      step.run({ hosts: new Map([["n1", host]]), signal: abort.signal, log: () => undefined, values: new RunValues() }),
    ).rejects.toMatchObject({ code: "INTERRUPTED" });
    expect(host.lines).toEqual(["apt-get install -y x"]);
    expect(seen).toEqual([undefined]);
  });

  it("runs on runOn when given, and says so in the dry run", async () => {
    const runner = new FakeHost("cp-1").on({ prefix: ["kubectl"] }, { code: 0 });
    const step = actionStep({
      id: "u:w1",
      node: "w1",
      title: "uncordon",
      runOn: "cp-1",
      actions: [runs({ argv: ["kubectl", "uncordon", "w1"] })],
    });
    expect(step.describe).toEqual(["on cp-1: kubectl uncordon w1"]);
    expect(await step.run(ctxFor(runner))).toBe("changed");
    expect(runner.lines).toEqual(["kubectl uncordon w1"]);
  });
});
