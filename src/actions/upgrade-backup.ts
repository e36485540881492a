import type { RunContext } from "../core/context.js";
import type { ClusterSpec } from "../spec/schema.js";

/** Where the pre-upgrade backup is, or why there is none yet. */
export interface UpgradeBackup {
  /** The backup's location once taken; undefined when this build takes none. */
  location: string | undefined;
  /** One line for the dry run and the run's output. */
  note: string;
}

/**
 * The datastore backup an upgrade takes before its first change. This is the one place where
 * `hactl backup` (issue "backup/restore") plugs in: take the backup here (or, for a dry run, say where it
 * would go) and return its location. Until that command exists, nothing is taken and the note says so.
 */
export function backupBeforeUpgrade(spec: ClusterSpec, ctx: RunContext, dryRun: boolean): Promise<UpgradeBackup> {
  const note = `Backup: not taken by this build. The backup step will be taken by \`hactl backup\` before the first change once that command lands; until then back up the datastore of ${spec.metadata.name} yourself before upgrading.`;
  if (!dryRun) ctx.reporter.warn(note);
  return Promise.resolve({ location: undefined, note });
}
