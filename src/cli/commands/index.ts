import { Command, Option } from "commander";
import type { Wrap } from "./wrap.js";
import { registerAppCommands } from "./app.js";
import { registerCertsResetCommands } from "./certs-reset.js";
import { registerDatastoreCommands } from "./datastore.js";
import { registerInit } from "./init.js";
import { drainTimeoutOption, dryRun, fileOption, intOption } from "./options.js";
import { registerToolCommands } from "./tools.js";

/** Every command hactl has. Bodies are imported lazily so `hactl --help` stays fast. */
export function registerCommands(program: Command, wrap: Wrap): void {
  program
    .command("install")
    .description(
      "install an HA cluster from cluster.yaml (or an interactive wizard when -f is not given and a terminal is attached)",
    )
    .addOption(new Option("-f, --file <path>", "cluster.yaml to use (omit for the wizard)"))
    .addOption(dryRun())
    .option("--templates <dir>", "directory with template overrides (keepalived, haproxy, nginx)")
    .option("--kubeconfig <path>", "where to write the kubeconfig (default ./<cluster>.kubeconfig)")
    .option("--skip-deploy", "do not apply spec.deploy after the cluster is healthy (hactl deploy does it later)")
    .option(
      "--bundle <file>",
      "install from this offline bundle (hactl bundle); nothing is fetched from the internet (default: spec.airgap.bundle)",
    )
    .action(function (this: Command) {
      const opts = this.opts<{
        file?: string;
        dryRun: boolean;
        templates?: string;
        kubeconfig?: string;
        skipDeploy?: boolean;
        bundle?: string;
      }>();
      return wrap("install", async (ctx) => (await import("../../actions/install.js")).runInstall(opts, ctx))();
    });

  registerInit(program, wrap);

  program
    .command("deploy")
    .description(
      "apply spec.deploy (manifests, Kustomize directories, local Helm charts) in order: only items whose inputs changed, each waited for and recorded in the cluster",
    )
    .argument("[names...]", "items of spec.deploy to consider (default: all)")
    .addOption(fileOption())
    .addOption(dryRun())
    .option(
      "--list",
      "what is deployed, read from the record in the cluster (item, checksum, revision, version, time, by whom)",
    )
    .option("--remove <name>", "delete what an item created and drop it from the record")
    .action(function (this: Command, names: string[]) {
      const opts = this.opts<{ file: string; dryRun: boolean; list?: boolean; remove?: string }>();
      if (opts.list && (opts.remove !== undefined || names.length > 0)) {
        this.error("error: --list takes no item names and no --remove", { exitCode: 2 });
      }
      if (opts.remove !== undefined && names.length > 0)
        this.error("error: --remove NAME takes no other item names", { exitCode: 2 });
      const deployOpts = {
        file: opts.file,
        dryRun: opts.dryRun,
        list: Boolean(opts.list),
        ...(opts.remove !== undefined ? { remove: opts.remove } : {}),
      };
      return wrap(
        "deploy",
        async (ctx) => (await import("../../actions/deploy.js")).runDeploy(names, deployOpts, ctx),
        opts.list ? { report: true } : undefined,
      )();
    });

  program
    .command("validate")
    .description("check cluster.yaml and print every problem with its line, column and a fix")
    .addOption(fileOption())
    .action(function (this: Command) {
      const opts = this.opts<{ file: string }>();
      return wrap("validate", async (ctx) => (await import("../../actions/validate.js")).runValidate(opts, ctx), {
        report: true,
      })();
    });

  program
    .command("schema")
    .description("print the JSON Schema of cluster.yaml (for editor completion)")
    .action(() =>
      wrap("schema", async (ctx) => (await import("../../actions/validate.js")).runSchema(ctx), { report: true })(),
    );

  program
    .command("render")
    .description("write the load-balancer configs hactl would install, for review or an appliance")
    .addOption(fileOption())
    .requiredOption("--out <dir>", "directory to write the configs into")
    .option("--templates <dir>", "directory with template overrides")
    .action(function (this: Command) {
      const opts = this.opts<{ file: string; out: string; templates?: string }>();
      return wrap("render", async (ctx) => (await import("../../actions/render.js")).runRender(opts, ctx))();
    });

  program
    .command("status")
    .description(
      "nodes, datastore roles, HA state, VIP holder, load-balancer backends and drift; non-zero exit when unhealthy",
    )
    .addOption(fileOption())
    .action(function (this: Command) {
      const opts = this.opts<{ file: string }>();
      return wrap("status", async (ctx) => (await import("../../actions/status.js")).runStatus(opts, ctx), {
        report: true,
      })();
    });

  program
    .command("add-node")
    .description("join a new node (one at a time, fresh token) and update every load balancer")
    .argument("<name>", "node name (already in cluster.yaml, or give --address)")
    .option("--address <ip>", "the node's address")
    .addOption(new Option("--role <role>", "node role").choices(["control-plane", "worker"]).default("control-plane"))
    .option(
      "--gateway",
      "also a gateway node (gateway: true): it and the other gateway nodes hold loadBalancer.web.vip and serve the web port",
    )
    .option("--user <user>", "SSH user for this node")
    .addOption(fileOption())
    .option("--bundle <file>", "install the node from this offline bundle (default: spec.airgap.bundle)")
    .addOption(dryRun())
    .action(function (this: Command, name: string) {
      const opts = this.opts<{
        file: string;
        address?: string;
        role: "control-plane" | "worker";
        gateway?: boolean;
        user?: string;
        dryRun: boolean;
        bundle?: string;
      }>();
      return wrap("add-node", async (ctx) =>
        (await import("../../actions/add-node.js")).runAddNode({ ...opts, name }, ctx),
      )();
    });

  program
    .command("remove-node")
    .description("remove a node safely (quorum checks, drain, leave, load balancers first); --force for a dead node")
    .argument("<name>", "node name")
    .option("--force", "the node is dead or unreachable: remove it from the cluster without it", false)
    .addOption(drainTimeoutOption())
    .addOption(fileOption())
    .addOption(dryRun())
    .action(function (this: Command, name: string) {
      const opts = this.opts<{ file: string; force: boolean; drainTimeout: string; dryRun: boolean }>();
      return wrap("remove-node", async (ctx) =>
        (await import("../../actions/remove-node.js")).runRemoveNode({ ...opts, name }, ctx),
      )();
    });

  program
    .command("upgrade")
    .description(
      "rolling upgrade one minor at a time: control planes one by one (the VIP holder last), then workers in batches; unsafe upgrades refused before any change",
    )
    .option(
      "--to <version>",
      "Kubernetes minor to reach, e.g. 1.31 (recorded in cluster.yaml when done; default: the version in cluster.yaml)",
    )
    .addOption(fileOption())
    .addOption(dryRun())
    .addOption(
      intOption(
        "--batch-size <n>",
        "at most this many workers at once (default and maximum: max(1, 10% of the workers))",
        { min: 1, max: 1000 },
      ),
    )
    .addOption(drainTimeoutOption(300))
    .option("--templates <dir>", "directory with template overrides (keepalived, haproxy, nginx)")
    .option("--skip-backup", "take no datastore backup first (you took one yourself)", false)
    .option(
      "--bundle <file>",
      "upgrade from this offline bundle of the target minor (hactl bundle); nothing is fetched from the internet (default: spec.airgap.bundle)",
    )
    .action(function (this: Command) {
      const opts = this.opts<{
        file: string;
        to?: string;
        bundle?: string;
        dryRun: boolean;
        batchSize?: string;
        drainTimeout: string;
        templates?: string;
        skipBackup: boolean;
      }>();
      return wrap("upgrade", async (ctx) => (await import("../../actions/upgrade.js")).runUpgrade(opts, ctx))();
    });

  registerAppCommands(program, wrap);
  registerToolCommands(program, wrap);
  registerCertsResetCommands(program, wrap);
  registerDatastoreCommands(program, wrap);
}
