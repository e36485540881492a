import { rename, rm, stat, writeFile } from "node:fs/promises";

/**
 * Replaces a file on the workstation atomically: the content goes to a temporary file beside it, which
 * is then renamed over the target, so a crash or Ctrl-C leaves the old file or the new one, never half
 * of either. The mode is `mode` when given, else the replaced file's, else 0644.
 */
export async function writeFileAtomic(path: string, content: string | Buffer, opts: { mode?: number } = {}): Promise<void> {
  const mode = opts.mode ?? (await existingMode(path)) ?? 0o644;
  const tmp = `${path}.hactl-tmp-${process.pid}`;
  try {
    await writeFile(tmp, content, { mode });
    await rename(tmp, path);
  } catch (e) {
    await rm(tmp, { force: true });
    throw e;
  }
}

async function existingMode(path: string): Promise<number | undefined> {
  try {
    return (await stat(path)).mode & 0o777;
  } catch {
    return undefined;
  }
}
