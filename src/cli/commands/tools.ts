/** Commands around the cluster rather than on it: completion, kubeconfig, ssh, version. */
import { Argument, Option, type Command } from "commander";
import type { Wrap } from "./wrap.js";
import { fileOption } from "./options.js";

export function registerToolCommands(program: Command, wrap: Wrap): void {
  program
    .command("completion")
    .description("print the shell completion script (commands, flags, node names from cluster.yaml)")
    .addArgument(new Argument("<shell>", "bash, zsh or fish").choices(["bash", "zsh", "fish"]))
    .action(async (shell: "bash" | "zsh" | "fish") =>
      (await import("../../actions/completion.js")).runCompletion(shell, program),
    );

  program
    .command("__complete-nodes", { hidden: true })
    .addOption(fileOption())
    .action(async (opts: { file: string }) =>
      (await import("../../actions/completion.js")).runCompleteNodes(opts.file),
    );

  program
    .command("kubeconfig")
    .description(
      "fetch the admin kubeconfig again from a control plane, pointing at the VIP or load balancer (written 0600)",
    )
    .addOption(fileOption())
    .option("--out <path>", "file to write (default ./<cluster>.kubeconfig; with --merge: ~/.kube/config)")
    .option(
      "--merge",
      "add the cluster, user and context under the cluster's name to ~/.kube/config (or --out), keeping every other entry",
      false,
    )
    .action(function (this: Command) {
      const opts = this.opts<{ file: string; out?: string; merge: boolean }>();
      return wrap("kubeconfig", async (ctx) =>
        (await import("../../actions/kubeconfig.js")).runKubeconfig(opts, ctx),
      )();
    });

  program
    .command("ssh")
    .description(
      "open a shell on a node (or run a command after --) with the SSH settings of cluster.yaml, through the system ssh",
    )
    .argument("<node>", "node or load-balancer host name")
    .argument("[command...]", "command to run instead of a shell (after --, as with ssh)")
    .addOption(fileOption())
    .action(function (this: Command, node: string, command: string[]) {
      const opts = this.opts<{ file: string }>();
      return wrap("ssh", async (ctx) =>
        (await import("../../actions/ssh.js")).runSsh({ ...opts, node, command }, ctx),
      )();
    });

  program
    .command("version")
    .description("hactl's version; with -f, each node's Kubernetes distribution version")
    .addOption(new Option("-f, --file <path>", "cluster.yaml whose nodes to ask"))
    .action(function (this: Command) {
      const opts = this.opts<{ file?: string }>();
      return wrap("version", async (ctx) => (await import("../../actions/version.js")).runVersion(opts, ctx), {
        report: true,
      })();
    });
}
