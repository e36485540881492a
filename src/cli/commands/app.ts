/** The application's day-2 commands: scale, autoscale, linkerd, ha, restart, reconfigure. */
import { Command, Option } from "commander";
import type { Wrap } from "./index.js";
import type { ReconfigureFlags } from "../../actions/app/reconfigure.js";
import { dryRun, fileOption } from "./options.js";

const timeout = (): Option => new Option("--timeout <seconds>", "how long to wait for the replicas or the rollout").default("300");

const collect = (value: string, previous: string[]): string[] => [...previous, value];

export function registerAppCommands(program: Command, wrap: Wrap): void {
  program
    .command("scale")
    .description("set a service's replicas (or 'all') and wait until the cluster reports them ready; refused while autoscaling is on")
    .argument("<service>", "service (Deployment) name, or 'all'")
    .argument("<replicas>", "replica count (0-1000)")
    .addOption(fileOption())
    .addOption(dryRun())
    .addOption(timeout())
    .action(function (this: Command, service: string, replicas: string) {
      const opts = this.opts<{ file: string; dryRun: boolean; timeout: string }>();
      return wrap("scale", async (ctx) => (await import("../../actions/app/scale.js")).runScale(service, replicas, opts, ctx))();
    });

  program
    .command("autoscale")
    .description("enable or disable autoscaling: an autoscaler per service, metrics-server when needed; enabling turns Linkerd on")
    .argument("<action>", "enable or disable")
    .option("--min <n>", "minimum replicas per service (default: cluster.yaml's autoscaling.minReplicas)")
    .option("--max <n>", "maximum replicas per service (default: autoscaling.maxReplicas)")
    .option("--cpu <percent>", "target CPU utilisation (default: autoscaling.cpuPercent)")
    .addOption(fileOption())
    .addOption(dryRun())
    .action(function (this: Command, action: string) {
      const opts = this.opts<{ file: string; dryRun: boolean; min?: string; max?: string; cpu?: string }>();
      return wrap("autoscale", async (ctx) => (await import("../../actions/app/mesh.js")).runAutoscale(action, opts, ctx))();
    });

  program
    .command("linkerd")
    .description("install or remove Linkerd (CRDs, control plane, linkerd check) and mesh the application's namespace")
    .argument("<action>", "enable or disable")
    .addOption(fileOption())
    .addOption(dryRun())
    .action(function (this: Command, action: string) {
      const opts = this.opts<{ file: string; dryRun: boolean }>();
      return wrap("linkerd", async (ctx) => (await import("../../actions/app/mesh.js")).runLinkerd(action, opts, ctx))();
    });

  program
    .command("ha")
    .description("HA mode: eviction timeout applied node by node (strictly one at a time), system services with N replicas, one app restart")
    .argument("<action>", "enable or disable")
    .option("--system-replicas <n>", "replicas of the system services (3-100; default: ha.systemReplicas)")
    .option("--eviction-timeout <seconds>", "how fast workloads leave a failed node (10-300; default: ha.evictionTimeoutSeconds)")
    .addOption(fileOption())
    .addOption(dryRun())
    .action(function (this: Command, action: string) {
      const opts = this.opts<{ file: string; dryRun: boolean; systemReplicas?: string; evictionTimeout?: string }>();
      return wrap("ha", async (ctx) => (await import("../../actions/app/ha.js")).runHa(action, opts, ctx))();
    });

  program
    .command("restart")
    .description("rolling restart of a service or all of them, waiting until done")
    .argument("[service]", "service name or 'all'", "all")
    .addOption(fileOption())
    .addOption(dryRun())
    .addOption(timeout())
    .action(function (this: Command, service: string) {
      const opts = this.opts<{ file: string; dryRun: boolean; timeout: string }>();
      return wrap("restart", async (ctx) => (await import("../../actions/app/scale.js")).runRestart(service, opts, ctx))();
    });

  program
    .command("reconfigure")
    .description("HA, autoscaling, Linkerd and external services again (prefilled from cluster.yaml); shows the change, applies it, saves cluster.yaml")
    .option("--ha <on|off>", "HA mode")
    .option("--system-replicas <n>", "HA: system service replicas (3-100)")
    .option("--eviction-timeout <seconds>", "HA: eviction timeout (10-300)")
    .option("--autoscale <on|off>", "autoscaling (on turns Linkerd on)")
    .option("--min <n>", "autoscaling: minimum replicas")
    .option("--max <n>", "autoscaling: maximum replicas")
    .option("--cpu <percent>", "autoscaling: target CPU utilisation")
    .option("--linkerd <on|off>", "Linkerd service mesh")
    .option("--external <service=ref>", "external service reference: SERVICE=env:NAME, SERVICE=file:PATH or SERVICE=none (repeatable)", collect, [])
    .addOption(fileOption())
    .addOption(dryRun())
    .action(function (this: Command) {
      const opts = this.opts<ReconfigureFlags & { external: string[] }>();
      return wrap("reconfigure", async (ctx) => (await import("../../actions/app/reconfigure.js")).runReconfigure(opts, ctx))();
    });
}
