/**
 * Linkerd on and off, as plans. Where Linkerd comes from depends on the distribution:
 * - MicroK8s: its own addon (`microk8s enable community`, then `microk8s enable linkerd`), checked with
 *   `microk8s linkerd check`; nothing is installed by hand on the nodes.
 * - kubeadm: the operator's `linkerd` CLI on this machine renders the manifests against the cluster's
 *   kubeconfig, and kubectl on a control plane applies them over SSH.
 * Either way the application's namespace is annotated for injection and its services restarted into the
 * mesh. The builders are pure: each part already in place produces no step.
 */
import type { ExecResult } from "../../core/command.js";
import { HactlError } from "../../core/errors.js";
import { need, type RemoteHost } from "../../core/host.js";
import type { Phase, Step, StepContext } from "../../core/plan.js";
import {
  COMMUNITY_ADDON,
  INJECT_ANNOTATION,
  LINKERD_ADDON,
  linkerdCheckFailures,
  linkerdCheckPassed,
} from "../../distros/linkerd.js";
import { microk8s } from "../../distros/microk8s.js";
import { kubectl, rollingRestart, sleep, type KubectlBuilder } from "./kube.js";

/** The operator's linkerd CLI on this machine, pointed at the cluster's kubeconfig. */
export interface WorkstationLinkerd {
  /** The executable, as the plan shows it. */
  readonly path: string;
  /** Runs `linkerd ARGS` here; resolves with any exit code. */
  run(args: readonly string[], signal: AbortSignal): Promise<ExecResult>;
}

/** Where Linkerd comes from, and how much of it is in place now. */
export type LinkerdSource =
  | { kind: "microk8s-addon"; communityEnabled: boolean; addonEnabled: boolean }
  | { kind: "workstation-cli"; installed: boolean; cli: WorkstationLinkerd };

export interface LinkerdInput {
  leader: string;
  namespace: string;
  /** Deployments of the application to restart so their pods gain (or lose) the proxy. */
  services: readonly string[];
  /** The namespace is annotated for injection now. */
  meshed: boolean;
  source: LinkerdSource;
  /** kubectl on the leader, as the distribution runs it. */
  kubectl: KubectlBuilder;
  checkTimeoutMs: number;
  rolloutTimeoutSeconds: number;
}

export function linkerdInstalled(source: LinkerdSource): boolean {
  return source.kind === "microk8s-addon" ? source.addonEnabled : source.installed;
}

/** A step of the Linkerd phases: acts through the leader and always reports a change. */
function linkerdStep(leader: string) {
  return (
    id: string,
    title: string,
    describe: string[],
    run: (host: RemoteHost, ctx: StepContext) => Promise<void>,
  ): Step => ({
    id: `linkerd:${id}`,
    node: leader,
    title,
    describe,
    async run(ctx) {
      await run(need(ctx.hosts, leader), ctx);
      return "changed";
    },
  });
}

function namespaceManifest(namespace: string, inject: boolean): string {
  return JSON.stringify({
    apiVersion: "v1",
    kind: "Namespace",
    metadata: { name: namespace, annotations: { [INJECT_ANNOTATION]: inject ? "enabled" : "disabled" } },
  });
}

/** `linkerd ARGS` here, its manifests into `kubectl VERB -f -` on the leader (stdin only: they hold keys). */
async function applyRendered(
  cli: WorkstationLinkerd,
  args: string[],
  host: RemoteHost,
  kubectlArgs: string[],
  via: KubectlBuilder,
  ctx: StepContext,
): Promise<void> {
  const rendered = await cli.run(args, ctx.signal);
  if (rendered.code !== 0) {
    throw new HactlError("COMMAND_FAILED", `linkerd ${args.join(" ")} failed on this machine (exit ${rendered.code})`, {
      details: rendered.stderr.trim().split("\n").slice(-4).join("\n"),
      remedy: `Run \`${cli.path} ${args.join(" ")}\` with the cluster's kubeconfig (KUBECONFIG=<cluster>.kubeconfig) to see why, fix it, then run the same command again.`,
    });
  }
  const applied = await kubectl(host, kubectlArgs, {
    stdin: rendered.stdout,
    signal: ctx.signal,
    timeoutMs: 300_000,
    via,
  });
  ctx.log(applied.stdout.trim().split("\n").slice(-5).join("\n"));
}

/** `linkerd check` through the source, retried until it passes or the time is up. */
async function checkUntilPassed(input: LinkerdInput, host: RemoteHost, ctx: StepContext): Promise<void> {
  const { source } = input;
  const deadline = Date.now() + input.checkTimeoutMs;
  for (;;) {
    const r =
      source.kind === "microk8s-addon"
        ? await host.exec(microk8s.linkerd("check"), { signal: ctx.signal })
        : await source.cli.run(["check"], ctx.signal);
    if (r.code === 0 && linkerdCheckPassed(r.stdout)) return;
    if (Date.now() >= deadline || ctx.signal.aborted) {
      throw new HactlError("UNHEALTHY", "linkerd check does not pass", {
        details: linkerdCheckFailures(r.stdout),
        remedy:
          source.kind === "microk8s-addon"
            ? `Run \`microk8s linkerd check\` on ${input.leader} for the failing checks and their hints, fix them, then run the same command again.`
            : `Run \`KUBECONFIG=<cluster>.kubeconfig ${source.cli.path} check\` here for the failing checks and their hints, fix them, then run the same command again.`,
      });
    }
    ctx.log("linkerd check does not pass yet; retrying");
    await sleep(2000, ctx.signal);
  }
}

function installSteps(input: LinkerdInput): Step[] {
  const step = linkerdStep(input.leader);
  const { source } = input;
  if (source.kind === "microk8s-addon") {
    return [
      ...(source.communityEnabled
        ? []
        : [
            step(
              "community",
              "enable MicroK8s' community addon repository",
              [`microk8s enable ${COMMUNITY_ADDON} (the linkerd addon lives there)`],
              async (host, ctx) => {
                await host.run(microk8s.enable(COMMUNITY_ADDON), { signal: ctx.signal });
              },
            ),
          ]),
      ...(source.addonEnabled
        ? []
        : [
            step(
              "addon",
              "enable the linkerd addon",
              [`microk8s enable ${LINKERD_ADDON} (CRDs, control plane and the linkerd CLI as microk8s linkerd)`],
              async (host, ctx) => {
                const r = await host.run(microk8s.enable(LINKERD_ADDON), { signal: ctx.signal });
                ctx.log(r.stdout.trim().split("\n").slice(-3).join("\n"));
              },
            ),
          ]),
    ];
  }
  if (source.installed) return [];
  const where = `(${source.cli.path} on this machine) | kubectl apply -f - on ${input.leader}`;
  return [
    step("crds", "install the Linkerd CRDs", [`linkerd install --crds ${where}`], (host, ctx) =>
      applyRendered(source.cli, ["install", "--crds"], host, ["apply", "-f", "-"], input.kubectl, ctx),
    ),
    step("control-plane", "install the Linkerd control plane", [`linkerd install ${where}`], (host, ctx) =>
      applyRendered(source.cli, ["install"], host, ["apply", "-f", "-"], input.kubectl, ctx),
    ),
  ];
}

function restartStep(input: LinkerdInput, title: string): Step {
  return linkerdStep(input.leader)(
    "restart",
    title,
    input.services.map((s) => `rollout restart deployment/${s} -n ${input.namespace}`),
    async (host, ctx) => {
      await rollingRestart(
        host,
        input.namespace,
        input.services,
        input.rolloutTimeoutSeconds,
        ctx.log,
        ctx.signal,
        input.kubectl,
      );
    },
  );
}

/** Linkerd installed and checked, the namespace meshed; undefined when all of it is in place already. */
export function linkerdEnablePhase(input: LinkerdInput): Phase | undefined {
  if (linkerdInstalled(input.source) && input.meshed) return undefined;
  const step = linkerdStep(input.leader);
  const check =
    input.source.kind === "microk8s-addon"
      ? "microk8s linkerd check, retried until the control plane is ready"
      : `${input.source.cli.path} check (on this machine), retried until the control plane is ready`;
  const steps: Step[] = [
    ...installSteps(input),
    step("check", "linkerd check", [check], (host, ctx) => checkUntilPassed(input, host, ctx)),
  ];
  if (!input.meshed) {
    steps.push(
      step(
        "mesh",
        `mesh namespace ${input.namespace}`,
        [`namespace ${input.namespace}: annotation ${INJECT_ANNOTATION}=enabled (kubectl apply -f -)`],
        async (host, ctx) => {
          await kubectl(host, ["apply", "-f", "-"], {
            stdin: namespaceManifest(input.namespace, true),
            signal: ctx.signal,
            via: input.kubectl,
          });
        },
      ),
    );
    if (input.services.length > 0) steps.push(restartStep(input, "restart the application's services into the mesh"));
  }
  return { title: "Linkerd", mode: "serial", steps };
}

/** The namespace out of the mesh and Linkerd removed; undefined when neither is there. */
export function linkerdDisablePhase(input: LinkerdInput): Phase | undefined {
  const step = linkerdStep(input.leader);
  const { source } = input;
  const steps: Step[] = [];
  if (input.meshed) {
    steps.push(
      step(
        "unmesh",
        `take namespace ${input.namespace} out of the mesh`,
        [`namespace ${input.namespace}: annotation ${INJECT_ANNOTATION}=disabled`],
        async (host, ctx) => {
          await kubectl(host, ["apply", "-f", "-"], {
            stdin: namespaceManifest(input.namespace, false),
            signal: ctx.signal,
            via: input.kubectl,
          });
        },
      ),
    );
    if (input.services.length > 0)
      steps.push(restartStep(input, "restart the application's services without the proxy"));
  }
  if (source.kind === "microk8s-addon" && source.addonEnabled) {
    steps.push(
      step(
        "uninstall",
        "disable the linkerd addon",
        [`microk8s disable ${LINKERD_ADDON} (control plane, CRDs and the addon's CLI)`],
        async (host, ctx) => {
          const r = await host.run(microk8s.disable(LINKERD_ADDON), { signal: ctx.signal });
          ctx.log(r.stdout.trim().split("\n").slice(-3).join("\n"));
        },
      ),
    );
  }
  if (source.kind === "workstation-cli" && source.installed) {
    steps.push(
      step(
        "uninstall",
        "remove the Linkerd control plane and CRDs",
        [
          `linkerd uninstall (${source.cli.path} on this machine) | kubectl delete --ignore-not-found -f - on ${input.leader}`,
        ],
        (host, ctx) =>
          applyRendered(
            source.cli,
            ["uninstall"],
            host,
            ["delete", "--ignore-not-found", "-f", "-"],
            input.kubectl,
            ctx,
          ),
      ),
    );
  }
  return steps.length > 0 ? { title: "Linkerd", mode: "serial", steps } : undefined;
}
