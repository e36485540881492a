import { dirname, join, resolve } from "node:path";
import type { RunContext } from "../core/context.js";
import { defaultBackupName } from "../phases/backup-archive.js";
import type { ClusterSpec } from "../spec/schema.js";
import { takeBackup } from "./backup.js";
import type { Session } from "./session.js";

/** Where the pre-upgrade backup is (or will be), or why there is none. */
export interface UpgradeBackup {
  /** The backup's path on this machine; for a dry run, where it would be written; undefined with --skip-backup. */
  location: string | undefined;
  /** One line for the dry run and the run's output. */
  note: string;
}

/** Where `hactl backup` (and so an upgrade) writes by default: backups/ beside cluster.yaml. */
function backupDir(specFile: string): string {
  return join(dirname(resolve(specFile)), "backups");
}

/**
 * The datastore backup an upgrade takes before its first change (the caller holds the cluster lock):
 * `takeBackup`, as `hactl backup` does, for both distributions. A dry run only says where it would go;
 * --skip-backup (an operator who took one) takes none and says so.
 */
export async function backupBeforeUpgrade(
  spec: ClusterSpec,
  session: Session,
  ctx: RunContext,
  opts: { specFile: string; dryRun: boolean; skip: boolean },
): Promise<UpgradeBackup> {
  if (opts.skip)
    return { location: undefined, note: "Backup: skipped (--skip-backup); the operator took one before the upgrade." };
  if (opts.dryRun) {
    const location = join(backupDir(opts.specFile), defaultBackupName(spec.metadata.name, new Date()));
    return {
      location,
      note: `Backup: the datastore is backed up before the first change, to ${location} (the time in the name is when it is taken).`,
    };
  }
  const result = await takeBackup(ctx, session, spec, { specFile: opts.specFile });
  return {
    location: result.path,
    note: `Backup: ${result.path} (${result.size} bytes, sha256 ${result.sha256}); restore with hactl restore ${result.path}.`,
  };
}
