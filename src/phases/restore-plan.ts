import { need } from "../core/host.js";
import { HactlError } from "../core/errors.js";
import { runs, writes } from "../core/action.js";
import { actionStep, type Phase, type Plan, type Step, type StepContext } from "../core/plan.js";
import { REMOTE_RESTORE_DIR, dbctlRestore, parseDbctlRestore } from "../distros/datastore.js";
import { microk8s } from "../distros/microk8s.js";
import type { BackupManifest } from "./backup-archive.js";
import {
  RESTORED_KINDS,
  createdAfter,
  deleteArgs,
  objectLabel,
  parseObjectList,
  type ListedObject,
} from "./restore-check.js";

/**
 * The MicroK8s restore as a plan. Every step is safe to repeat, so a restore cut short (node death,
 * Ctrl-C) is finished by running the same command again:
 *   1. stage the dbctl archive on the control plane, under the name dbctl needs (its directory's name);
 *   2. `microk8s dbctl restore`: writes every key of the backup back (changed objects go back, deleted
 *      ones return); the migrator's count of keys must equal the backup's;
 *   3. delete the objects created after the backup: dbctl leaves keys it does not know alone, and an
 *      object the backup held was just rewritten with its old creation time, so what is newer than the
 *      backup is exactly what it did not hold;
 *   4. remove the staged copy;
 *   5. verify: nodes Ready, datastore healthy, API through the VIP (`verify`, supplied by the caller).
 */
/** The last step of every restore: the cluster healthy again (nodes Ready, datastore, API through the VIP). */
export function restoreVerifyStep(node: string, verify: (ctx: StepContext) => Promise<void>): Step {
  return {
    id: "restore-verify",
    node,
    title: "nodes Ready, datastore healthy, API through the VIP",
    describe: ["wait until hactl status would report the cluster healthy"],
    async run(ctx) {
      await verify(ctx);
      return "changed";
    },
  };
}

export interface Microk8sRestoreInput {
  runner: string;
  manifest: BackupManifest;
  /** The dbctl archive from the backup. */
  datastore: Buffer;
  /** Objects created after the backup as listed before the restore (for the plan's description). */
  doomed: readonly ListedObject[];
  verify: (ctx: StepContext) => Promise<void>;
}

export function microk8sRestorePlan(input: Microk8sRestoreInput): Plan {
  const { runner, manifest } = input;
  if (manifest.datastore.kind !== "microk8s-dbctl")
    throw new HactlError("INTERNAL", "a MicroK8s restore needs a dbctl backup");
  const store = manifest.datastore;
  const fileName = `${store.name}.tar.gz`;
  const staged = `${REMOTE_RESTORE_DIR}/${fileName}`;
  const kubectl = (...args: string[]) => microk8s.kubectl(...args);

  const stage = actionStep({
    id: `restore-stage:${runner}`,
    node: runner,
    title: `upload the datastore copy (${store.entries} keys)`,
    actions: [
      runs(
        { argv: ["sh", "-c", 'umask 077; mkdir -p "$1"', "hactl-stage", REMOTE_RESTORE_DIR], sudo: true },
        { preparation: true },
      ),
      writes(staged, input.datastore, { mode: 0o600, sudo: true }),
    ],
  });
  const restore: Step = {
    id: `restore-dbctl:${runner}`,
    node: runner,
    title: "microk8s dbctl restore",
    describe: [`microk8s dbctl restore ${fileName} (in ${REMOTE_RESTORE_DIR})`],
    async run(ctx) {
      const res = await need(ctx.hosts, runner).run(dbctlRestore(fileName), { signal: ctx.signal });
      const result = parseDbctlRestore(res.stderr);
      if (result.entries !== store.entries || result.failed.length > 0) {
        throw new HactlError(
          "COMMAND_FAILED",
          `dbctl restored ${result.entries ?? 0} of ${store.entries} keys${result.failed.length ? `; ${result.failed.length} failed` : ""}`,
          {
            node: runner,
            details: result.failed.slice(0, 10).join("\n"),
            remedy: "Run the same hactl restore again: every key is written again.",
            retryable: true,
          },
        );
      }
      ctx.log(`dbctl restored ${result.entries} keys`);
      return "changed";
    },
  };
  const dropNewer: Step = {
    id: `restore-drop-newer:${runner}`,
    node: runner,
    title: "delete the objects created after the backup",
    describe: input.doomed.length
      ? input.doomed.map((o) => `kubectl delete ${objectLabel(o)}`)
      : ["none were listed before the restore (listed again after it)"],
    async run(ctx) {
      const host = need(ctx.hosts, runner);
      const listed = parseObjectList(
        (await host.run(kubectl("get", RESTORED_KINDS.join(","), "-A", "-o", "json"), { signal: ctx.signal })).stdout,
      );
      const newer = createdAfter(listed, manifest.takenAt);
      for (const o of newer) {
        await host.run(kubectl(...deleteArgs(o)), { signal: ctx.signal });
        ctx.log(`deleted ${objectLabel(o)}`);
      }
      return newer.length > 0 ? "changed" : "unchanged";
    },
  };
  const unstage = actionStep({
    id: `restore-unstage:${runner}`,
    node: runner,
    title: "remove the staged copy",
    actions: [runs({ argv: ["rm", "-f", staged], sudo: true })],
  });
  const verify = restoreVerifyStep(runner, input.verify);
  const phases: Phase[] = [
    {
      title: `Restore the datastore from the backup of ${manifest.takenAt}`,
      mode: "serial",
      steps: [stage, restore, dropNewer, unstage],
    },
    { title: "Check the cluster", mode: "serial", steps: [verify] },
  ];
  return phases;
}
