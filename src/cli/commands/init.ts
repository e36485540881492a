import type { Command } from "commander";
import type { Wrap } from "./index.js";

export function registerInit(program: Command, wrap: Wrap): void {
  program
    .command("init")
    .description("ask the wizard's questions and write cluster.yaml (no install)")
    .option("--out <path>", "file to write", "cluster.yaml")
    .action(function (this: Command) {
      const opts = this.opts<{ out: string }>();
      return wrap("init", async (ctx) => (await import("../../actions/wizard.js")).runInit(opts, ctx))();
    });
}
