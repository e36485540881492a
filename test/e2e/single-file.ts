// The single-file hactl (`npm run build:single`) for lab tests: built when missing or older than src/,
// copied to a directory of its own and run where no `node` is on PATH and no node_modules is near.
import { execFile } from "node:child_process";
import { copyFileSync, mkdirSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";

const repo = fileURLToPath(new URL("../..", import.meta.url));
const built = join(repo, "dist-single", "hactl");

function newestMtime(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestMtime(path) : statSync(path).mtimeMs);
  }
  return newest;
}

/** dist-single/hactl, built first unless it is newer than every file under src/ and templates/. */
export async function singleFileHactl(): Promise<string> {
  const sources = Math.max(newestMtime(join(repo, "src")), newestMtime(join(repo, "templates")));
  const fresh = (() => {
    try {
      return statSync(built).mtimeMs > sources;
    } catch {
      return false;
    }
  })();
  if (!fresh)
    await promisify(execFile)(process.execPath, [join(repo, "scripts", "build-single.mjs")], {
      cwd: repo,
      timeout: 170_000,
    });
  return built;
}

/** Copies the single file into `dir`/jump/hactl (a directory with no node_modules above it). */
export function copyToJumpHost(exe: string, dir: string): string {
  const jump = join(dir, "jump");
  mkdirSync(jump, { recursive: true });
  const copy = join(jump, "hactl");
  copyFileSync(exe, copy);
  return copy;
}

/**
 * The argv prefix that runs `exe` as on a jump host without Node.js: in a private mount namespace where
 * every `node` on PATH is covered by /dev/null, with PATH=/usr/bin:/bin; it exits 97 if `node` is still
 * found there.
 */
export function withoutNode(exe: string): string[] {
  const script =
    'for n in $(which -a node); do mount --bind /dev/null "$n"; done; if command -v node; then exit 97; fi; exec "$@"';
  return ["unshare", "--mount", "--propagation", "private", "sh", "-c", script, "sh", exe];
}

/** The environment for withoutNode: PATH without Node.js (after the namespace hides it). */
export const NO_NODE_PATH = { PATH: "/usr/bin:/bin" };
