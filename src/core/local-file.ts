import { randomBytes } from "node:crypto";
import { mkdir, open, realpath, rename, rm, stat } from "node:fs/promises";
import { basename, dirname, join } from "node:path";

export interface AtomicWriteOptions {
  /** The file's mode; default: the replaced file's, else 0644. Set exactly, whatever the umask. */
  mode?: number;
  /** Create the missing parent directories (mode 0700). */
  createDir?: boolean;
}

/**
 * Replaces a file on the workstation atomically: the content goes to a temporary file beside it, flushed
 * to disk, which is then renamed over the target, so a crash or Ctrl-C leaves the old file or the new
 * one, never half of either. A symlink is followed, so ~/.kube/config pointing elsewhere stays a link.
 */
export async function writeFileAtomic(
  path: string,
  content: string | Buffer,
  opts: AtomicWriteOptions = {},
): Promise<void> {
  const target = await realpath(path).catch(() => path);
  if (opts.createDir) await mkdir(dirname(target), { recursive: true, mode: 0o700 });
  const mode = opts.mode ?? (await existingMode(target)) ?? 0o644;
  const tmp = join(dirname(target), `.${basename(target)}.hactl-tmp-${randomBytes(4).toString("hex")}`);
  try {
    const handle = await open(tmp, "wx", mode);
    try {
      await handle.writeFile(content);
      await handle.chmod(mode);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(tmp, target);
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
