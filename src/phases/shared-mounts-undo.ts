/**
 * Undoing spec.storage.sharedMounts on a node that leaves (remove-node) or is reset: each mount is
 * unmounted (lazily when something still uses it) and hactl's fstab line for it removed, with a backup.
 * Planned from the spec alone; the step reads the node first, so a second run changes nothing.
 */
import { need, type RemoteHost } from "../core/host.js";
import type { Phase, Step, StepOutcome } from "../core/plan.js";
import { FINDMNT_NFS, parseFindmnt } from "../gather/shared-mounts.js";
import type { ClusterSpec, SharedMountSpec } from "../spec/schema.js";
import { sharedMountsOf } from "./shared-mounts.js";

const FSTAB = "/etc/fstab";

/** fstab without hactl's lines for these mounts: active nfs entries of the same source and mount point. */
export function withoutFstabEntries(fstab: string, mounts: readonly SharedMountSpec[]): string {
  const ours = (line: string): boolean => {
    if (line.trimStart().startsWith("#")) return false;
    const [source, target, type] = line.trim().split(/\s+/);
    return (
      (type === "nfs" || type === "nfs4") &&
      mounts.some((m) => m.mountPoint === target && `${m.server}:${m.path}` === source)
    );
  };
  return fstab
    .split("\n")
    .filter((l) => !ours(l))
    .join("\n");
}

/** Unmounts one mount point; a busy one is detached lazily (umount -l) so the node can be reset anyway. */
async function unmount(host: RemoteHost, mountPoint: string, log: (l: string) => void): Promise<void> {
  const r = await host.exec({ argv: ["umount", mountPoint], sudo: true, timeoutMs: 60_000 });
  if (r.code === 0) {
    log(`unmounted ${mountPoint}`);
    return;
  }
  await host.run({ argv: ["umount", "-l", mountPoint], sudo: true, timeoutMs: 60_000 });
  log(`${mountPoint} was busy (${r.stderr.trim().split("\n").pop() ?? `exit ${r.code}`}): detached lazily`);
}

function undoStep(machine: string, mounts: readonly SharedMountSpec[]): Step {
  return {
    id: `shared-mounts-undo:${machine}`,
    node: machine,
    title: `unmount ${mounts.map((m) => m.mountPoint).join(", ")}`,
    describe: mounts.map(
      (m) => `umount ${m.mountPoint} (lazily if busy); remove its ${FSTAB} line ${m.server}:${m.path} (backup kept)`,
    ),
    async run(ctx): Promise<StepOutcome> {
      const host = need(ctx.hosts, machine);
      let changed = false;
      const mounted = parseFindmnt((await host.run({ argv: [...FINDMNT_NFS], okCodes: [0, 1] })).stdout);
      for (const m of mounts) {
        if (mounted.get(m.mountPoint) !== `${m.server}:${m.path}`) continue;
        await unmount(host, m.mountPoint, ctx.log);
        changed = true;
      }
      const fstab = await host.readFile(FSTAB, { sudo: true });
      if (fstab !== undefined) {
        const next = withoutFstabEntries(fstab, mounts);
        if (next !== fstab) {
          await host.writeFile(FSTAB, next, { mode: 0o644, sudo: true, backup: true });
          ctx.log(`${FSTAB}: removed hactl's lines for ${mounts.map((m) => m.mountPoint).join(", ")}`);
          changed = true;
        }
      }
      return changed ? "changed" : "unchanged";
    },
  };
}

/** One phase undoing the shared mounts on these reachable nodes; none when the spec has no shared mounts. */
export function unmountSharedMounts(spec: ClusterSpec, machines: readonly string[]): Phase[] {
  const mounts = sharedMountsOf(spec);
  if (mounts.length === 0 || machines.length === 0) return [];
  return [{ title: "Unmount shared storage", mode: "parallel", steps: machines.map((m) => undoStep(m, mounts)) }];
}
