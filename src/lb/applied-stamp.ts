import { createHash } from "node:crypto";
import type { RenderedConfig } from "./render.js";

const STAMP_DIR = "/var/lib/hactl/lb-applied";

/**
 * What a service was last reloaded or started with: a digest of its files, written after the reload
 * succeeded. A config that reached the disk but was never loaded (link cut mid-reload, Ctrl-C) has no
 * matching stamp, so the next run reloads it even though the files are identical.
 */
export function appliedStamp(files: readonly RenderedConfig[], service: string): string {
  const hash = createHash("sha256");
  for (const f of files.filter((x) => x.service === service).sort((a, b) => a.path.localeCompare(b.path)))
    hash.update(`${f.path}\n${f.content}\n`);
  return `${hash.digest("hex")}\n`;
}

export function stampPath(service: string): string {
  return `${STAMP_DIR}/${service}`;
}
