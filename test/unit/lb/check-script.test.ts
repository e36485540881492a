/**
 * The rendered track scripts against real daemons: haproxy (or nginx) runs with the rendered config
 * inside a throwaway network namespace with a private /run, and the script must pass while it runs and
 * fail once it is stopped. Everything binds inside the namespace; nothing leaves it.
 */
import { spawnSync } from "node:child_process";
import { chmodSync, existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { renderExternalLb, renderKeepalivedHaproxy, type RenderedConfig } from "../../../src/lb/index.js";
import { cpInput, externalInput } from "./fixtures.js";

const has = (bin: string): boolean => spawnSync("sh", ["-c", `command -v ${bin}`]).status === 0;
const ready = process.getuid?.() === 0 && has("ip") && has("unshare") && has("bash");
const ns = `hactl-lbchk-${process.pid}`;
let work = "";

function put(config: RenderedConfig, name: string): string {
  const path = join(work, name);
  writeFileSync(path, config.content);
  chmodSync(path, config.mode);
  return path;
}

function pick(files: RenderedConfig[], suffix: string): RenderedConfig {
  const f = files.find((x) => x.path.endsWith(suffix));
  if (!f) throw new Error(`missing ${suffix}`);
  return f;
}

/**
 * Starts the daemon in the foreground as a child of this shell (so it is reaped, not left as a zombie),
 * runs the check, stops the daemon, runs the check again. Prints "up=N" and "down=N" with the check's
 * exit codes. The EXIT trap stops the daemon even when a step fails.
 */
function upDown(prepare: string, start: string, check: string): string {
  const script = [
    "mount -t tmpfs tmpfs /run",
    prepare,
    `${start} &`,
    "daemon=$!",
    `trap 'kill "$daemon" 2>/dev/null; wait "$daemon"' EXIT`,
    `for i in $(seq 50); do bash ${check} 2>/dev/null && break; sleep 0.1; done`,
    `bash ${check}; echo "up=$?"`,
    'kill "$daemon"; wait "$daemon"',
    `bash ${check}; echo "down=$?"`,
  ].join("\n");
  const r = spawnSync("ip", ["netns", "exec", ns, "unshare", "-m", "--propagation", "private", "sh", "-c", script], {
    encoding: "utf8",
    timeout: 30_000,
  });
  return `${r.stdout}${r.stderr}`;
}

describe.skipIf(!ready)("track scripts against running daemons", () => {
  beforeAll(() => {
    work = mkdtempSync(join(tmpdir(), "hactl-lbchk-"));
    chmodSync(work, 0o755);
    for (const argv of [
      ["netns", "add", ns],
      ["-n", ns, "link", "set", "lo", "up"],
    ]) {
      const r = spawnSync("ip", argv, { encoding: "utf8" });
      if (r.status !== 0) throw new Error(`ip ${argv.join(" ")}: ${r.stderr}`);
    }
  });
  afterAll(() => {
    spawnSync("ip", ["netns", "del", ns]);
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it.skipIf(!has("haproxy"))(
    "check_haproxy.sh passes while haproxy serves the API port and fails once it stops",
    () => {
      const files = renderKeepalivedHaproxy(cpInput());
      const cfg = put(pick(files, "haproxy.cfg"), "haproxy.cfg");
      const check = put(pick(files, "check_haproxy.sh"), "check_haproxy.sh");
      const out = upDown("sysctl -qw net.ipv4.ip_nonlocal_bind=1", `haproxy -W -p /run/haproxy.pid -f ${cfg}`, check);
      expect(out).toMatch(/^up=0$/m);
      expect(out).toMatch(/^down=1$/m);
      expect(out).toMatch(/check_haproxy: haproxy \(pid file \/run\/haproxy.pid\) is not running/);
    },
  );

  it.skipIf(!has("nginx") || !existsSync("/etc/nginx/modules-enabled"))(
    "check_nginx.sh passes while nginx serves its first TCP port and fails once it stops",
    () => {
      const files = renderExternalLb(externalInput());
      const conf = put(pick(files, "nginx.conf"), "nginx.conf");
      const check = put(pick(files, "check_nginx.sh"), "check_nginx.sh");
      const out = upDown("true", `nginx -c ${conf} -g "daemon off;"`, check);
      expect(out).toMatch(/^up=0$/m);
      expect(out).toMatch(/^down=1$/m);
    },
  );
});
