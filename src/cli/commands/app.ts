/** The application's day-2 commands: scale, autoscale, linkerd, ha, restart, reconfigure. */
import { Command, Option } from "commander";
import type { Wrap } from "./wrap.js";
import type { ReconfigureFlags } from "../../actions/app/reconfigure.js";
import { HA_LIMITS, MAX_REPLICAS } from "../../phases/app/values.js";
import { dryRun, fileOption, intOption } from "./options.js";

const timeout = (): Option =>
  intOption(
    "--timeout <seconds>",
    "how long to wait for the replicas or the rollout",
    { min: 1, max: 3600, unit: "seconds" },
    300,
  );
const replicas = { min: 1, max: MAX_REPLICAS } as const;
const cpuPercent = { min: 1, max: 100, unit: "percent" } as const;
const systemReplicas = { min: HA_LIMITS.minSystemReplicas, max: HA_LIMITS.maxSystemReplicas } as const;
const evictionSeconds = {
  min: HA_LIMITS.minEvictionSeconds,
  max: HA_LIMITS.maxEvictionSeconds,
  unit: "seconds",
} as const;

const collect = (value: string, previous: string[]): string[] => [...previous, value];

export function registerAppCommands(program: Command, wrap: Wrap): void {
  program
    .command("scale")
    .description(
      "set a service's replicas (or 'all') and wait until the cluster reports them ready; refused while autoscaling is on",
    )
    .argument("<service>", "service (Deployment) name, or 'all'")
    .argument("<replicas>", "replica count (0-1000)")
    .addOption(fileOption())
    .addOption(dryRun())
    .addOption(timeout())
    .action(function (this: Command, service: string, replicas: string) {
      const opts = this.opts<{ file: string; dryRun: boolean; timeout: string }>();
      return wrap("scale", async (ctx) =>
        (await import("../../actions/app/scale.js")).runScale(service, replicas, opts, ctx),
      )();
    });

  program
    .command("autoscale")
    .description(
      "enable or disable autoscaling: an autoscaler per service, metrics-server when needed; enabling turns Linkerd on",
    )
    .argument("<action>", "enable or disable")
    .addOption(
      intOption(
        "--min <n>",
        "minimum replicas per service (default: cluster.yaml's autoscaling.minReplicas)",
        replicas,
      ),
    )
    .addOption(intOption("--max <n>", "maximum replicas per service (default: autoscaling.maxReplicas)", replicas))
    .addOption(intOption("--cpu <percent>", "target CPU utilisation (default: autoscaling.cpuPercent)", cpuPercent))
    .addOption(fileOption())
    .addOption(dryRun())
    .action(function (this: Command, action: string) {
      const opts = this.opts<{ file: string; dryRun: boolean; min?: string; max?: string; cpu?: string }>();
      return wrap("autoscale", async (ctx) =>
        (await import("../../actions/app/mesh.js")).runAutoscale(action, opts, ctx),
      )();
    });

  program
    .command("linkerd")
    .description("install or remove Linkerd (CRDs, control plane, linkerd check) and mesh the application's namespace")
    .argument("<action>", "enable or disable")
    .addOption(fileOption())
    .addOption(dryRun())
    .action(function (this: Command, action: string) {
      const opts = this.opts<{ file: string; dryRun: boolean }>();
      return wrap("linkerd", async (ctx) =>
        (await import("../../actions/app/mesh.js")).runLinkerd(action, opts, ctx),
      )();
    });

  program
    .command("ha")
    .description(
      "HA mode: eviction timeout applied node by node (strictly one at a time), system services with N replicas, one app restart",
    )
    .argument("<action>", "enable or disable")
    .addOption(
      intOption(
        "--system-replicas <n>",
        "replicas of the system services (default: ha.systemReplicas)",
        systemReplicas,
      ),
    )
    .addOption(
      intOption(
        "--eviction-timeout <seconds>",
        "how fast workloads leave a failed node (default: ha.evictionTimeoutSeconds)",
        evictionSeconds,
      ),
    )
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
      return wrap("restart", async (ctx) =>
        (await import("../../actions/app/scale.js")).runRestart(service, opts, ctx),
      )();
    });

  program
    .command("reconfigure")
    .description(
      "HA, autoscaling, Linkerd and external services again (prefilled from cluster.yaml); shows the change, applies it, saves cluster.yaml",
    )
    .option("--ha <on|off>", "HA mode")
    .addOption(intOption("--system-replicas <n>", "HA: system service replicas", systemReplicas))
    .addOption(intOption("--eviction-timeout <seconds>", "HA: eviction timeout", evictionSeconds))
    .option("--autoscale <on|off>", "autoscaling (on turns Linkerd on)")
    .addOption(intOption("--min <n>", "autoscaling: minimum replicas", replicas))
    .addOption(intOption("--max <n>", "autoscaling: maximum replicas", replicas))
    .addOption(intOption("--cpu <percent>", "autoscaling: target CPU utilisation", cpuPercent))
    .option("--linkerd <on|off>", "Linkerd service mesh")
    .option(
      "--external <service=ref>",
      "external service reference: SERVICE=env:NAME, SERVICE=file:PATH or SERVICE=none (repeatable)",
      collect,
      [],
    )
    .addOption(fileOption())
    .addOption(dryRun())
    .action(function (this: Command) {
      const opts = this.opts<ReconfigureFlags & { external: string[] }>();
      return wrap("reconfigure", async (ctx) =>
        (await import("../../actions/app/reconfigure.js")).runReconfigure(opts, ctx),
      )();
    });
}
