// The built hactl binary for unit tests that run it as a user would (through a terminal, a shell).
import { execFile } from "node:child_process";
import { copyFileSync, mkdirSync, readdirSync, statSync, symlinkSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

export const repo = fileURLToPath(new URL("../..", import.meta.url));

export interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

export function run(cmd: string, args: string[], env: NodeJS.ProcessEnv, timeout = 120_000, cwd = repo): Promise<Run> {
  return new Promise((resolve) => {
    execFile(cmd, args, { cwd, env, timeout, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === "number" ? err.code : 1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

function newestMtime(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestMtime(path) : statSync(path).mtimeMs);
  }
  return newest;
}

/** bin/hactl when dist/ is up to date; else a copy of bin/hactl over a private build of src/. */
export async function hactlBinary(work: string): Promise<string> {
  const main = join(repo, "dist", "cli", "main.js");
  const fresh = (() => {
    try {
      return statSync(main).mtimeMs > newestMtime(join(repo, "src"));
    } catch {
      return false;
    }
  })();
  if (fresh) return join(repo, "bin", "hactl");
  const root = join(work, "build");
  mkdirSync(join(root, "bin"), { recursive: true });
  symlinkSync(join(repo, "node_modules"), join(root, "node_modules"));
  copyFileSync(join(repo, "bin", "hactl"), join(root, "bin", "hactl"));
  await run(
    join(repo, "node_modules", ".bin", "tsc"),
    ["-p", "tsconfig.build.json", "--outDir", join(root, "dist")],
    process.env,
    170_000,
  );
  statSync(join(root, "dist", "cli", "main.js"));
  return join(root, "bin", "hactl");
}
