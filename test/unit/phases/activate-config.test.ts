import { describe, expect, it } from "vitest";
import { HactlError } from "../../../src/core/errors.js";
import type { RenderedConfig } from "../../../src/lb/index.js";
import { activateConfigs, lbStep } from "../../../src/phases/activate-config.js";
import { appliedStamp, stampPath } from "../../../src/lb/applied-stamp.js";
import { FakeHost } from "../../fakes/fake-host.js";
import { RunValues } from "../../../src/core/run-values.js";

const haproxy: RenderedConfig = {
  path: "/etc/haproxy/haproxy.cfg",
  content: "global\n    daemon\n",
  mode: 0o644,
  owner: "root:root",
  validate: ["haproxy", "-c", "-f", "{file}"],
  service: "haproxy",
  secret: false,
};
const keepalived: RenderedConfig = {
  path: "/etc/keepalived/keepalived.conf",
  content: "vrrp_instance VI_1 {}\n",
  mode: 0o644,
  owner: "root:root",
  validate: ["keepalived", "-t", "-f", "{file}"],
  service: "keepalived",
  secret: false,
};

function host(opts: { active?: boolean; enabled?: boolean; validates?: boolean } = {}): FakeHost {
  return new FakeHost("node-1")
    .on({ prefix: ["systemctl", "is-active"] }, { code: opts.active === false ? 3 : 0 })
    .on({ prefix: ["systemctl", "is-enabled"] }, { code: opts.enabled === false ? 1 : 0 })
    .on(
      { prefix: ["haproxy", "-c"] },
      opts.validates === false
        ? {
            code: 1,
            stdout: "",
            stderr:
              "[NOTICE] config : config file /etc/haproxy/haproxy.cfg.hactl-new\n[ALERT] parsing [haproxy.cfg:2] : unknown keyword 'daemonn'",
          }
        : { code: 0, stdout: "Configuration file is valid" },
    )
    .on({ prefix: ["keepalived", "-t"] }, { code: 0 })
    .on({ prefix: ["systemctl"] }, { code: 0 });
}

describe("activateConfigs", () => {
  it("leaves identical files on an active service that loaded them alone", async () => {
    const h = host()
      .withFile(haproxy.path, haproxy.content)
      .withFile(stampPath("haproxy"), appliedStamp([haproxy], "haproxy"));
    expect(await activateConfigs(h, [haproxy])).toBe("unchanged");
    expect(h.written).toEqual([]);
    expect(h.lines).toEqual(["systemctl is-active haproxy", "systemctl is-enabled haproxy"]);
  });

  it("reloads a service whose identical files were written but never loaded (no matching stamp)", async () => {
    const h = host().withFile(haproxy.path, haproxy.content);
    expect(await activateConfigs(h, [haproxy])).toBe("changed");
    expect(h.lines.slice(2)).toEqual(["systemctl reload haproxy"]);
    expect(h.files.get(stampPath("haproxy"))).toBe(appliedStamp([haproxy], "haproxy"));
  });

  it("stages, validates the staged copy, installs with a backup, then reloads", async () => {
    const h = host().withFile(haproxy.path, "old\n");
    expect(await activateConfigs(h, [haproxy])).toBe("changed");
    expect(h.written.map((w) => [w.path, w.options.backup ?? false])).toEqual([
      ["/etc/haproxy/haproxy.cfg.hactl-new", false],
      ["/etc/haproxy/haproxy.cfg", true],
      [stampPath("haproxy"), false],
    ]);
    expect(h.written[1]?.options).toMatchObject({ sudo: true, mode: 0o644, owner: "root:root" });
    expect(h.lines).toEqual([
      "systemctl is-active haproxy",
      "systemctl is-enabled haproxy",
      "haproxy -c -f /etc/haproxy/haproxy.cfg.hactl-new",
      "rm -f /etc/haproxy/haproxy.cfg.hactl-new",
      "systemctl reload haproxy",
    ]);
    expect(h.files.get(haproxy.path)).toBe(haproxy.content);
    expect(h.files.has("/etc/haproxy/haproxy.cfg.hactl-new")).toBe(false);
  });

  it("starts an inactive service instead of reloading it, even when the files are unchanged", async () => {
    const h = host({ active: false, enabled: false })
      .withFile(haproxy.path, haproxy.content)
      .withFile(stampPath("haproxy"), appliedStamp([haproxy], "haproxy"));
    expect(await activateConfigs(h, [haproxy])).toBe("changed");
    expect(h.written.map((w) => w.path)).toEqual([stampPath("haproxy")]);
    expect(h.lines.slice(2)).toEqual(["systemctl enable haproxy", "systemctl start haproxy"]);
  });

  it("on a validation failure removes the staged file, never writes the target and throws CONFIG_INVALID with the validator output", async () => {
    const h = host({ validates: false }).withFile(haproxy.path, "working\n");
    const err = (await activateConfigs(h, [haproxy]).catch((e: unknown) => e)) as HactlError;
    expect(err).toBeInstanceOf(HactlError);
    expect(err.code).toBe("CONFIG_INVALID");
    expect(err.node).toBe("node-1");
    expect(err.message).toContain("/etc/haproxy/haproxy.cfg failed validation (haproxy exited 1)");
    expect(err.details).toContain("unknown keyword 'daemonn'");
    expect(h.written.map((w) => w.path)).toEqual(["/etc/haproxy/haproxy.cfg.hactl-new"]);
    expect(h.files.get(haproxy.path)).toBe("working\n");
    expect(h.files.has("/etc/haproxy/haproxy.cfg.hactl-new")).toBe(false);
    expect(h.lines.some((l) => l.startsWith("systemctl reload") || l.startsWith("systemctl start"))).toBe(false);
  });

  it("validates every changed file before installing any of them", async () => {
    const h = host({ validates: false });
    await expect(activateConfigs(h, [keepalived, haproxy])).rejects.toMatchObject({ code: "CONFIG_INVALID" });
    expect(h.written.map((w) => w.path)).toEqual([
      "/etc/keepalived/keepalived.conf.hactl-new",
      "/etc/haproxy/haproxy.cfg.hactl-new",
    ]);
    expect(h.files.has(keepalived.path)).toBe(false);
  });

  it("leaves no staged file behind when any file fails validation", async () => {
    const h = host({ validates: false });
    await expect(activateConfigs(h, [keepalived, haproxy])).rejects.toMatchObject({ code: "CONFIG_INVALID" });
    expect([...h.files.keys()].filter((p) => p.endsWith(".hactl-new"))).toEqual([]);
  });

  it("installs keepalived's track script before validating keepalived.conf, which refers to it by its final path", async () => {
    const script: RenderedConfig = {
      path: "/etc/keepalived/check_haproxy.sh",
      content: "#!/bin/sh\nexit 0\n",
      mode: 0o755,
      owner: "root:root",
      validate: ["bash", "-n", "{file}"],
      service: "keepalived",
      secret: false,
    };
    const h = host().on({ prefix: ["bash", "-n"] }, { code: 0 });
    await activateConfigs(h, [script, keepalived]);
    const order = h.lines.filter(
      (l) => l.startsWith("keepalived -t") || l.startsWith("rm -f /etc/keepalived/check_haproxy.sh"),
    );
    expect(order).toEqual([
      "rm -f /etc/keepalived/check_haproxy.sh.hactl-new",
      "keepalived -t -f /etc/keepalived/keepalived.conf.hactl-new",
    ]);
    expect(h.files.get(script.path)).toBe(script.content);
  });

  it("reloads only the services whose files changed", async () => {
    const h = host()
      .withFile(keepalived.path, keepalived.content)
      .withFile(stampPath("keepalived"), appliedStamp([keepalived], "keepalived"));
    await activateConfigs(h, [keepalived, haproxy]);
    const systemctl = h.lines.filter(
      (l) => l.startsWith("systemctl") && !l.includes("is-active") && !l.includes("is-enabled"),
    );
    expect(systemctl).toEqual(["systemctl reload haproxy"]);
  });

  it("enables only a service that is not enabled, and reads the whole state in one round trip", async () => {
    const h = host({ enabled: false })
      .withFile(keepalived.path, keepalived.content)
      .withFile(stampPath("keepalived"), appliedStamp([keepalived], "keepalived"));
    await activateConfigs(h, [keepalived, haproxy]);
    expect(h.lines.slice(0, 4).sort()).toEqual([
      "systemctl is-active haproxy",
      "systemctl is-active keepalived",
      "systemctl is-enabled haproxy",
      "systemctl is-enabled keepalived",
    ]);
    const changes = h.lines.filter((l) => /^systemctl (enable|reload|start) /.test(l));
    expect(changes).toEqual(["systemctl enable keepalived", "systemctl enable haproxy", "systemctl reload haproxy"]);
  });
});

describe("lbStep", () => {
  it("describes the validation with the command that runs, and never the content", async () => {
    const step = lbStep("node-1", [haproxy, keepalived]);
    expect(step).toMatchObject({ id: "lb:node-1", title: "configure haproxy + keepalived" });
    expect(step.describe).toEqual([
      "/etc/haproxy/haproxy.cfg (0644) when it differs: staged, haproxy -c -f /etc/haproxy/haproxy.cfg.hactl-new, installed with backup",
      "/etc/keepalived/keepalived.conf (0644) when it differs: staged, keepalived -t -f /etc/keepalived/keepalived.conf.hactl-new, installed with backup",
      "systemctl reload haproxy keepalived (start and enable when not running)",
    ]);
    expect(step.describe.join("\n")).not.toContain("daemon");
    const h = host();
    await step.run({
      hosts: new Map([["node-1", h]]),
      signal: new AbortController().signal,
      log: () => undefined,
      values: new RunValues(),
    });
    expect(h.lines).toContain("haproxy -c -f /etc/haproxy/haproxy.cfg.hactl-new");
    expect(h.lines).toContain("keepalived -t -f /etc/keepalived/keepalived.conf.hactl-new");
  });
});
