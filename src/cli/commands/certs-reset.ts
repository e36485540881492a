/** Certificate expiry and renewal, and taking nodes or the whole cluster back to bare servers. */
import { Command } from "commander";
import type { Wrap } from "./wrap.js";
import { drainTimeoutOption, dryRun, fileOption } from "./options.js";

export function registerCertsResetCommands(program: Command, wrap: Wrap): void {
  const certs = program
    .command("certs")
    .description("certificate expiry per node (check) and one-control-plane-at-a-time renewal (renew)");
  certs
    .command("check")
    .description(
      "every node's certificates with expiry and days left; exit 6 when one expires within 30 days (warning under 90)",
    )
    .addOption(fileOption())
    .action(function (this: Command) {
      const opts = this.opts<{ file: string }>();
      return wrap("certs-check", async (ctx) => (await import("../../actions/certs.js")).runCertsCheck(opts, ctx), {
        report: true,
      })();
    });
  certs
    .command("renew")
    .description(
      "renew server certificates expiring within 90 days, one control plane at a time, each out of the load balancers meanwhile",
    )
    .option(
      "--ca",
      "replace the cluster CA instead (kubeadm: also the front-proxy and etcd CAs): shows what that breaks and asks first (or needs --yes)",
      false,
    )
    .addOption(fileOption())
    .addOption(dryRun())
    .action(function (this: Command) {
      const opts = this.opts<{ file: string; ca: boolean; dryRun: boolean }>();
      return wrap("certs-renew", async (ctx) => (await import("../../actions/certs.js")).runCertsRenew(opts, ctx))();
    });

  program
    .command("reset")
    .description(
      "remove a node (as remove-node) and return it to a bare server; --all --confirm NAME for the whole cluster",
    )
    .argument("[node]", "node name")
    .option("--all", "reset every node of the cluster", false)
    .option("--confirm <name>", "with --all: the cluster's metadata.name, to confirm")
    .option(
      "--force",
      "the node is dead or unreachable: remove it from the cluster without it and skip its cleanup",
      false,
    )
    .addOption(drainTimeoutOption())
    .addOption(fileOption())
    .addOption(dryRun())
    .action(function (this: Command, node: string | undefined) {
      const opts = this.opts<{
        file: string;
        all: boolean;
        confirm?: string;
        force: boolean;
        drainTimeout: string;
        dryRun: boolean;
      }>();
      return wrap("reset", async (ctx) =>
        (await import("../../actions/reset.js")).runReset({ ...opts, ...(node ? { node } : {}) }, ctx),
      )();
    });
}
