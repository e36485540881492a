/**
 * Runs the real validators (haproxy -c, nginx -t, keepalived -t, bash -n) on rendered files, through
 * each RenderedConfig's own `validate` argv. A validator that is not installed skips its tests.
 * keepalived -t exits 5 when the configured interface does not exist, so it runs inside a throwaway
 * network namespace holding a veth with the configured name; it also needs the track script at its
 * real path, so /etc/keepalived is replaced by a temp dir in a private mount namespace. nginx -t
 * creates its pid file when missing, so it runs with a private tmpfs on /run.
 */
import { spawnSync } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  renderExternalLb,
  renderKeepalivedHaproxy,
  templateSource,
  type RenderedConfig,
} from "../../../src/lb/index.js";
import { controlPlanes, cpInput, externalInput, worker } from "./fixtures.js";

const isRoot = process.getuid?.() === 0;
const has = (bin: string): boolean => spawnSync("sh", ["-c", `command -v ${bin}`]).status === 0;
const canNamespace = isRoot && has("ip") && has("unshare") && existsSync("/etc/keepalived");

interface Outcome {
  status: number | null;
  output: string;
}

function run(argv: readonly string[]): Outcome {
  const [bin, ...args] = argv;
  const r = spawnSync(bin!, args, { encoding: "utf8", timeout: 20_000 });
  return { status: r.status, output: `${r.stdout}${r.stderr}` };
}

let work = "";
beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), "hactl-lb-validate-"));
});
afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

/** Writes the file under `dir` and returns its validate argv with "{file}" filled in. */
function stage(config: RenderedConfig, dir: string, name = basename(config.path)): string[] {
  mkdirSync(dir, { recursive: true });
  const path = join(dir, name);
  writeFileSync(path, config.content);
  chmodSync(path, config.mode);
  return config.validate.map((a) => (a === "{file}" ? path : a));
}

function pick(files: RenderedConfig[], path: string): RenderedConfig {
  const f = files.find((x) => x.path === path);
  if (!f) throw new Error(`missing ${path}`);
  return f;
}

describe.skipIf(!has("haproxy"))("haproxy -c", () => {
  it("accepts haproxy.cfg for the API only", () => {
    const r = run(stage(pick(renderKeepalivedHaproxy(cpInput()), "/etc/haproxy/haproxy.cfg"), join(work, "h1")));
    expect(r, r.output).toMatchObject({ status: 0 });
    expect(r.output).not.toMatch(/WARNING|ALERT/);
  });

  it("accepts haproxy.cfg with web frontend and stats page", () => {
    const files = renderKeepalivedHaproxy(
      cpInput({
        web: { port: 80, backendPort: 80, nodes: [...controlPlanes, worker] },
        stats: { port: 8404, user: "admin", password: "stats-pass-9" },
      }),
    );
    const r = run(stage(pick(files, "/etc/haproxy/haproxy.cfg"), join(work, "h2")));
    expect(r, r.output).toMatchObject({ status: 0 });
    expect(r.output).not.toMatch(/WARNING/);
  });

  it("accepts the external haproxy.cfg", () => {
    const files = renderExternalLb(
      externalInput({
        engine: "haproxy",
        ports: [
          { port: 80, protocol: "tcp" },
          { port: 7443, protocol: "tcp", backendPort: 16443, readyz: true },
        ],
      }),
    );
    const r = run(stage(pick(files, "/etc/haproxy/haproxy.cfg"), join(work, "h3")));
    expect(r, r.output).toMatchObject({ status: 0 });
    expect(r.output).not.toMatch(/WARNING|ALERT/);
  });

  it("rejects a broken override template, so it could never go live", () => {
    const dir = join(work, "override");
    mkdirSync(join(dir, "haproxy"), { recursive: true });
    writeFileSync(
      join(dir, "haproxy", "haproxy.cfg.tpl"),
      "frontend api\n    bind {{vip}}:{{apiPort}}\n    balance sideways\n",
    );
    const files = renderKeepalivedHaproxy(cpInput(), templateSource(dir));
    const r = run(stage(pick(files, "/etc/haproxy/haproxy.cfg"), join(work, "h4")));
    expect(r.status).not.toBe(0);
    expect(r.output).toMatch(/haproxy.cfg:3\] : balance only supports/);
  });
});

describe.skipIf(!has("nginx") || !isRoot || !has("unshare"))("nginx -t", () => {
  const privateRun = (argv: string[]): Outcome =>
    run([
      "unshare",
      "-m",
      "--propagation",
      "private",
      "sh",
      "-c",
      'mount -t tmpfs tmpfs /run && exec "$@"',
      "sh",
      ...argv,
    ]);

  it("accepts the external nginx.conf with TCP and UDP stream ports", () => {
    const r = privateRun(stage(pick(renderExternalLb(externalInput()), "/etc/nginx/nginx.conf"), join(work, "n1")));
    expect(r, r.output).toMatchObject({ status: 0 });
    expect(r.output).toMatch(/test is successful/);
  });
});

describe.skipIf(!has("bash"))("bash -n", () => {
  it("accepts both track scripts", () => {
    const scripts = [
      pick(renderKeepalivedHaproxy(cpInput()), "/etc/keepalived/check_haproxy.sh"),
      pick(renderExternalLb(externalInput()), "/etc/keepalived/check_nginx.sh"),
    ];
    for (const s of scripts) {
      const r = run(stage(s, join(work, "s")));
      expect(r, r.output).toMatchObject({ status: 0 });
    }
  });
});

describe.skipIf(!has("keepalived") || !canNamespace)("keepalived -t", () => {
  const ns = `hactl-lbtest-${process.pid}`;

  beforeAll(() => {
    for (const argv of [
      ["ip", "netns", "add", ns],
      ["ip", "-n", ns, "link", "add", "eth0", "type", "veth", "peer", "name", "eth0-peer"],
    ]) {
      const r = run(argv);
      if (r.status !== 0) throw new Error(`${argv.join(" ")}: ${r.output}`);
    }
  });
  afterAll(() => {
    run(["ip", "netns", "del", ns]);
  });

  /** Validates keepalived.conf in the namespace, with `etcDir` standing in for /etc/keepalived. */
  function validate(files: RenderedConfig[], etcDir: string, withScript: boolean): Outcome {
    const script = files.find((f) => f.path.startsWith("/etc/keepalived/check_"));
    if (!script) throw new Error("no track script rendered");
    mkdirSync(etcDir, { recursive: true });
    chmodSync(etcDir, 0o755);
    if (withScript) stage(script, etcDir);
    const argv = stage(pick(files, "/etc/keepalived/keepalived.conf"), join(etcDir, "..", "conf"));
    return run([
      "ip",
      "netns",
      "exec",
      ns,
      "unshare",
      "-m",
      "--propagation",
      "private",
      "sh",
      "-c",
      'mount --bind "$0" /etc/keepalived && exec "$@"',
      etcDir,
      ...argv,
    ]);
  }

  it("accepts keepalived.conf with multicast VRRP", () => {
    const r = validate(renderKeepalivedHaproxy(cpInput()), join(work, "k1", "etc"), true);
    expect(r, r.output).toMatchObject({ status: 0 });
  });

  it("accepts keepalived.conf with unicast peers", () => {
    const r = validate(renderKeepalivedHaproxy(cpInput({ unicast: true })), join(work, "k2", "etc"), true);
    expect(r, r.output).toMatchObject({ status: 0 });
  });

  it("accepts VRRPv3 with half-second adverts (no authentication), unicast and multicast, without warnings", () => {
    for (const [i, unicast] of [false, true].entries()) {
      const r = validate(
        renderKeepalivedHaproxy(cpInput({ authPass: undefined, unicast })),
        join(work, `k6-${i}`, "etc"),
        true,
      );
      expect(r, r.output).toMatchObject({ status: 0 });
      expect(r.output).not.toMatch(/rounding|not support|Ignoring/i);
    }
  });

  it("accepts the external LB hosts' keepalived.conf", () => {
    const r = validate(renderExternalLb(externalInput()), join(work, "k3", "etc"), true);
    expect(r, r.output).toMatchObject({ status: 0 });
  });

  it("fails while the track script is not installed, so the script must be written first", () => {
    const r = validate(renderKeepalivedHaproxy(cpInput()), join(work, "k4", "etc"), false);
    expect(r.status).not.toBe(0);
    expect(r.output).toMatch(/check_haproxy since not found/);
  });

  it("exits 5 where the configured interface does not exist", () => {
    const r = validate(renderKeepalivedHaproxy(cpInput({ interface: "hactl-noif" })), join(work, "k5", "etc"), true);
    expect(r.status).toBe(5);
    expect(r.output).toMatch(/interface hactl-noif .* doesn't exist/);
  });
});
