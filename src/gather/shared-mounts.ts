/**
 * Read-only facts for spec.storage.sharedMounts on one node: its /etc/fstab, the NFS file systems
 * mounted now (findmnt), and what each NFS server says it exports (showmount, where nfs-common is installed).
 */
import type { RemoteHost } from "../core/host.js";
import { unexpectedOutput } from "../distros/remote-output.js";

/** A server's export list, or why it could not be read (an NFSv4-only server has no MOUNT service to ask). */
export type ExportList = { exports: string[] } | { error: string };

export interface SharedMountState {
  fstab: string;
  /** Mount point → source (`server:/path`) of each NFS file system mounted now. */
  mounted: Map<string, string>;
  /** Server → export list; empty when showmount is not installed yet. */
  exports: Map<string, ExportList>;
}

const SHOWMOUNT_TIMEOUT_MS = 15_000;

export function showmountCommand(server: string): { argv: [string, ...string[]]; timeoutMs: number } {
  return { argv: ["showmount", "-e", "--no-headers", server], timeoutMs: SHOWMOUNT_TIMEOUT_MS };
}

export const FINDMNT_NFS = ["findmnt", "-rn", "-o", "TARGET,SOURCE", "-t", "nfs,nfs4"] as const;

/** findmnt's raw output (`-r`): one `TARGET SOURCE` line per mount, spaces inside a field written as \x20. */
export function parseFindmnt(stdout: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of stdout.split("\n")) {
    if (line.trim() === "") continue;
    const fields = line.trim().split(" ");
    if (fields.length !== 2) throw unexpectedOutput(FINDMNT_NFS.join(" "), "one `TARGET SOURCE` pair per line");
    const [target, source] = fields.map((f) =>
      f.replace(/\\x([0-9a-f]{2})/gi, (_, h: string) => String.fromCharCode(parseInt(h, 16))),
    );
    out.set(target as string, source as string);
  }
  return out;
}

/** `showmount -e --no-headers` output: one `PATH CLIENTS` line per export. */
export function parseShowmount(server: string, stdout: string): string[] {
  return stdout
    .split("\n")
    .filter((l) => l.trim() !== "")
    .map((line) => {
      const path = line.trim().split(/\s+/)[0] ?? "";
      if (!path.startsWith("/"))
        throw unexpectedOutput(showmountCommand(server).argv.join(" "), "one `/export/path clients` line per export");
      return path;
    });
}

/** The export that serves `path`: the path itself or a directory above it (the server exports its subtree). */
export function exportFor(path: string, exports: readonly string[]): string | undefined {
  return exports
    .filter((e) => e === "/" || e === path || path.startsWith(`${e}/`))
    .sort((a, b) => b.length - a.length)[0];
}

export async function gatherSharedMountState(
  host: RemoteHost,
  servers: readonly string[],
  hasShowmount: boolean,
): Promise<SharedMountState> {
  const [fstab, mounted, ...lists] = await Promise.all([
    host.readFile("/etc/fstab"),
    host.run({ argv: [...FINDMNT_NFS], okCodes: [0, 1] }),
    ...(hasShowmount ? servers.map((s) => host.exec(showmountCommand(s))) : []),
  ]);
  const exports = new Map<string, ExportList>();
  lists.forEach((r, i) => {
    const server = servers[i] as string;
    const error = r.stderr.trim().split("\n").pop() ?? "";
    exports.set(
      server,
      r.code === 0 ? { exports: parseShowmount(server, r.stdout) } : { error: error || `exit ${r.code}` },
    );
  });
  return { fstab: fstab ?? "", mounted: parseFindmnt(mounted.stdout), exports };
}
