// Opt-in check of hactl against real servers (Ubuntu 24.04 with a cluster hactl installed):
//   HACTL_REAL_INVENTORY=/path/to/cluster.yaml npm test -- test/e2e/real.test.ts
// It only reads: `hactl status` must report a healthy cluster (exit 0). Without the variable it is skipped.
// npm test runs the tests inside the lab's workstation namespace, which has no route to real servers, so
// hactl is started in the host's network namespace (that of PID 1) with nsenter.
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const inventory = process.env.HACTL_REAL_INVENTORY;
const repo = fileURLToPath(new URL("../..", import.meta.url));

function hactlOnHostNetwork(args: string[], cwd: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((done) => {
    const argv = ["-t", "1", "-n", "--", process.execPath, join(repo, "bin", "hactl"), ...args];
    const child = spawn("nsenter", argv, {
      cwd,
      env: { ...process.env, NO_COLOR: "1" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    child.on("close", (code) => done({ code: code ?? 1, stdout, stderr }));
  });
}

describe.skipIf(!inventory)("hactl against real servers (HACTL_REAL_INVENTORY)", () => {
  it("reports the real cluster healthy with hactl status", async () => {
    const file = resolve(inventory ?? "");
    expect(existsSync(file), `${file} does not exist`).toBe(true);
    const r = await hactlOnHostNetwork(["status", "--file", file], dirname(file));
    expect(r.code, `hactl status exited ${r.code}\n${r.stdout}\n${r.stderr}`).toBe(0);
    expect(r.stdout).toMatch(/node/i);
  }, 300_000);
});
