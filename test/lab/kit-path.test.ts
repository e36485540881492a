// The lab from checkouts a node cannot see: each node has its own /root and /tmp, so a kit that stayed in
// the checkout would be "command not found" inside the nodes. labUp copies the kit where every node sees
// it; these tests start the lab from copies of test/lab and test/kit under /root (with a space in the
// path) and under /tmp behind a symlink, and run a kit command inside a node.
import { execFile } from "node:child_process";
import { cpSync, mkdirSync, mkdtempSync, rmSync, symlinkSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { KIT_DIR, labDown } from "./lab.mjs";

const repo = fileURLToPath(new URL("../..", import.meta.url));
const yamlDir = dirname(createRequire(join(repo, "test/kit/lib/util.mjs")).resolve("yaml/package.json"));

/** A copy of the lab and the kit (and the kit's npm dependency) at `root`, like a fresh checkout there. */
function copyCheckout(root: string): void {
  for (const part of ["test/lab", "test/kit"])
    cpSync(join(repo, part), join(root, part), { recursive: true, dereference: true });
  mkdirSync(join(root, "node_modules"), { recursive: true });
  cpSync(yamlDir, join(root, "node_modules/yaml"), { recursive: true, dereference: true });
}

/** Runs labUp({ nodes: 1 }) from the copy at `root` in a child process, then `snap list` inside node-1. */
function labUpFrom(root: string): Promise<{ code: number; stdout: string; stderr: string }> {
  const script = `
    const lab = await import(${JSON.stringify(pathToFileURL(join(root, "test/lab/lab.mjs")).href)});
    try {
      await lab.labUp({ nodes: 1 });
      const r = await lab.inNode("node-1", ["sh", "-c", "readlink -f \\"$(command -v snap)\\" && snap list"]);
      console.log(JSON.stringify(r));
    } catch (e) {
      console.error(e instanceof Error ? e.message : String(e));
      process.exitCode = 1;
    }`;
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ["--input-type=module", "-e", script],
      { cwd: "/", timeout: 120_000 },
      (err, stdout, stderr) => {
        resolve({ code: err ? (typeof err.code === "number" ? err.code : 1) : 0, stdout, stderr });
      },
    );
  });
}

const made: string[] = [];

afterAll(async () => {
  await labDown();
  for (const dir of made) rmSync(dir, { recursive: true, force: true });
});

describe("the lab from any checkout path", () => {
  it("runs the kit inside a node when the checkout is under /root, in a path with a space", async () => {
    const root = mkdtempSync("/root/hactl checkout ");
    made.push(root);
    copyCheckout(root);
    const run = await labUpFrom(root);
    expect(run.code, run.stderr).toBe(0);
    const inside = JSON.parse(run.stdout.trim().split("\n").pop() ?? "{}") as { code: number; stdout: string };
    expect(inside.code).toBe(0);
    expect(inside.stdout).toContain(`${KIT_DIR}/bin/snap`);
    expect(inside.stdout).toMatch(/^Name\s+Version\s+Rev/m);
  });

  it("runs the kit inside a node when the checkout is under /tmp, reached through a symlink", async () => {
    const real = mkdtempSync("/tmp/hactl-checkout-");
    made.push(real);
    const link = `${real}-link`;
    symlinkSync(real, link);
    made.push(link);
    copyCheckout(real);
    const run = await labUpFrom(link);
    expect(run.code, run.stderr).toBe(0);
    const inside = JSON.parse(run.stdout.trim().split("\n").pop() ?? "{}") as { code: number; stdout: string };
    expect(inside.code).toBe(0);
    expect(inside.stdout).toContain(`${KIT_DIR}/bin/snap`);
  });

  it("stops at once, naming the kit's path and the reason, when the kit does not run inside a node", async () => {
    const root = mkdtempSync("/tmp/hactl-broken-kit-");
    made.push(root);
    copyCheckout(root);
    rmSync(join(root, "test/kit/bin/snap"));
    const run = await labUpFrom(root);
    expect(run.code).not.toBe(0);
    expect(run.stderr).toContain(`node-1: the node kit at ${KIT_DIR}`);
    expect(run.stderr).toContain("snap is not on PATH");
  });
});
