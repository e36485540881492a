/** The commands that write or read archives on this machine: backup, restore and the offline bundle. */
import { Command } from "commander";
import type { Wrap } from "./wrap.js";
import { dryRun, fileOption } from "./options.js";

export function registerDatastoreCommands(program: Command, wrap: Wrap): void {
  program
    .command("backup")
    .description(
      "copy the cluster's datastore (MicroK8s dbctl or an etcd snapshot + PKI) to a checked archive on this machine, with FILE.sha256",
    )
    .option("--out <file>", "archive to write (default: backups/<cluster>-<UTC time>.tar.gz beside cluster.yaml)")
    .addOption(fileOption())
    .action(function (this: Command) {
      const opts = this.opts<{ file: string; out?: string }>();
      return wrap("backup", async (ctx) => (await import("../../actions/backup.js")).runBackup(opts, ctx))();
    });

  program
    .command("bundle")
    .description(
      "on a machine that reaches the snap store: collect what installing cluster.yaml needs (MicroK8s snap and base, with assertions) into one file for nodes without internet, with FILE.sha256",
    )
    .requiredOption("--out <file>", "bundle file to write (-o is the global --output)")
    .addOption(fileOption())
    .action(function (this: Command) {
      const opts = this.opts<{ file: string; out: string }>();
      return wrap("bundle", async (ctx) => (await import("../../actions/bundle.js")).runBundle(opts, ctx))();
    });

  program
    .command("restore")
    .description(
      "put the cluster's datastore back to a backup (checksum, cluster and members checked first; asks before it changes anything, or give --yes)",
    )
    .argument("<backup>", "archive written by hactl backup (its .sha256 file must be beside it)")
    .addOption(fileOption())
    .addOption(dryRun())
    .action(function (this: Command, backup: string) {
      const opts = this.opts<{ file: string; dryRun: boolean }>();
      return wrap("restore", async (ctx) =>
        (await import("../../actions/restore.js")).runRestore({ ...opts, backup }, ctx),
      )();
    });
}
