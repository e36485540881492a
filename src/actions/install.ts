import type { RunContext } from "../core/context.js";
import { HactlError } from "../core/errors.js";
import { byDistribution } from "../distros/registry.js";
import { loadSpecFile } from "../spec/parse.js";
import type { ClusterSpec } from "../spec/schema.js";
import type { DistributionConverge } from "./converge-stages.js";
import { authorizeInstallKeys } from "./install-key.js";
import type { InstallOptions } from "./install-options.js";
import { runChange, type SpecRecord } from "./runner.js";
import { machinesOf, type Session } from "./session.js";

export async function runInstall(opts: InstallOptions, ctx: RunContext): Promise<number> {
  const spec = await specForInstall(opts, ctx);
  const deploying = !opts.dryRun && !opts.skipDeploy && spec.spec.deploy.length > 0;
  const deploy = deploying ? await import("./deploy.js") : undefined;
  // spec.deploy's files and secret values are read before anything changes, so a missing one stops the run early.
  const reads = deploy ? await deploy.readDeployInputs(spec, opts.file ?? "cluster.yaml", ctx) : [];
  await runConverge(spec, opts, ctx, {
    command: "install",
    finish: true,
    // The application goes on once the cluster is healthy: the finish verified the API.
    ...(deploy ? { after: (session: Session) => deploy.deployAll(spec, reads, session, ctx) } : {}),
  });
  return 0;
}

async function specForInstall(opts: InstallOptions, ctx: RunContext): Promise<ClusterSpec> {
  if (opts.file) return (await loadSpecFile(opts.file)).spec;
  if (!ctx.interactive) {
    throw new HactlError("USAGE", "no cluster file given and no terminal to ask questions on", {
      remedy: "Run `hactl install -f cluster.yaml --yes`, or run `hactl install` in a terminal for the wizard.",
    });
  }
  const { runWizard } = await import("./wizard.js");
  const written = await runWizard({ out: "cluster.yaml" }, ctx);
  return (await loadSpecFile(written)).spec;
}

/** What differs between install and add-node around the shared converge. */
export interface ConvergeRun {
  /** Recorded in the cluster lock and the run journal. */
  command: "install" | "add-node";
  /** Install's end after success: the kubeconfig written, the API checked through the endpoint. */
  finish: boolean;
  /** cluster.yaml after success (add-node's new node); written atomically by the runner. */
  record?: () => SpecRecord | undefined;
  /** After the finish, while the session is still open (install's spec.deploy). */
  after?: (session: Session) => Promise<void>;
}

/**
 * Brings the machines to what the spec says through the one runner (actions/runner.ts): session, lock,
 * the operator's key authorized, the distribution's gather (facts, state, preflight, LB layout) and plan,
 * --dry-run / "nothing to do" / one confirmation, apply with the run journal, cluster.yaml recorded,
 * then the finish. Install, re-install and add-node all go through here; nodes already in place get no steps.
 */
export async function runConverge(
  spec: ClusterSpec,
  opts: InstallOptions,
  ctx: RunContext,
  run: ConvergeRun,
): Promise<void> {
  await byDistribution(spec, {
    microk8s: async () =>
      convergeWith(spec, (await import("./microk8s/converge.js")).microk8sConverge(spec, opts, ctx), opts, run, ctx),
    kubeadm: async () =>
      convergeWith(spec, (await import("./kubeadm/converge.js")).kubeadmConverge(spec, opts, ctx), opts, run, ctx),
  })();
}

async function convergeWith<G>(
  spec: ClusterSpec,
  parts: DistributionConverge<G>,
  opts: InstallOptions,
  run: ConvergeRun,
  ctx: RunContext,
): Promise<void> {
  await runChange(
    {
      command: run.command,
      spec,
      dryRun: opts.dryRun,
      question: `Apply this plan to ${machinesOf(spec).length} machines?`,
      gather: async (session) => {
        await authorizeInstallKeys(spec, session, opts, ctx);
        return parts.gather(session);
      },
      plan: (gathered) => parts.plan(gathered),
      record: () => run.record?.(),
      after: async (gathered, _summary, session) => {
        if (run.finish) await parts.finish(gathered, session);
        await run.after?.(session);
      },
    },
    ctx,
  );
}
