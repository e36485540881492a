import { HactlError, interruptedError } from "../core/errors.js";
import type { Command } from "../core/command.js";
import { need, type RemoteHost } from "../core/host.js";
import { commandLine, runs } from "../core/action.js";
import { actionStep, type Step, type StepContext } from "../core/plan.js";
import { drainCommand, parseNodes } from "../distros/kubectl.js";
import { minorOfVersion } from "./upgrade-versions.js";

/**
 * The small effectful bodies of an upgrade's steps, shared by every distribution: mark + drain, wait until
 * the node is back with its new version, uncordon. Load balancers and the VIP: src/phases/out-of-service.ts.
 * The distribution supplies its kubectl and its own upgrade steps.
 */

/** Set on a node while hactl has it out of service, so a resumed run knows to put it back. */
export const UPGRADE_LABEL = "hactl.dev/upgrade";

/** kubectl on a control plane, as the distribution runs it (`microk8s kubectl`, or kubectl with admin.conf). */
export type Kubectl = (...args: string[]) => Command;

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Polls `probe` every `everyMs` until it returns true; false once `ms` have passed. Ctrl-C stops it. */
export async function pollUntil(
  ctx: Pick<StepContext, "signal">,
  ms: number,
  probe: () => Promise<boolean>,
  everyMs = 1000,
): Promise<boolean> {
  const deadline = Date.now() + ms;
  for (;;) {
    if (await probe()) return true;
    if (ctx.signal.aborted) throw interruptedError(ctx.signal);
    if (Date.now() > deadline) return false;
    await sleep(everyMs);
  }
}

export interface DrainInput {
  id: string;
  node: string;
  runner: string;
  minor: string;
  drainSeconds: number;
  kubectl: Kubectl;
}

/** Marks the node as taken out by hactl, then cordons and drains it (PodDisruptionBudgets respected). */
export function drainStep(o: DrainInput): Step {
  const label = o.kubectl("label", "node", o.node, `${UPGRADE_LABEL}=${o.minor}`, "--overwrite");
  const drain = drainCommand(o.kubectl, o.node, o.drainSeconds);
  return {
    id: o.id,
    node: o.node,
    title: "cordon and drain",
    // a closure for its own error on a drain that times out; the dry run still shows the commands it runs
    describe: [label, drain].map((c) => `on ${o.runner}: ${commandLine(c)}`),
    async run(ctx) {
      const runner = need(ctx.hosts, o.runner);
      await runner.run(label, { signal: ctx.signal });
      const res = await runner.exec(drain, { signal: ctx.signal });
      if (res.code !== 0) {
        throw new HactlError(
          "COMMAND_FAILED",
          `the drain of ${o.node} did not finish within ${o.drainSeconds}s: a pod could not be evicted`,
          {
            node: o.node,
            details: `${res.stdout}\n${res.stderr}`.trim().split("\n").slice(-10).join("\n"),
            remedy: `${o.node} is cordoned but still runs its pods and was not upgraded. Fix what blocks the eviction (often a PodDisruptionBudget with no room: kubectl get pdb -A), then run the same hactl upgrade again; or raise --drain-timeout.`,
          },
        );
      }
      return "changed";
    },
  };
}

export interface CheckInput {
  id: string;
  node: string;
  runner: string;
  minor: string;
  kubectl: Kubectl;
  /** Control planes: the datastore must have this many voting members again (read on `node`); `via` names the command. */
  voters?: { expected: number; count: (host: RemoteHost) => Promise<number>; via: string };
  apiReachable?: () => Promise<boolean>;
  timeoutMs: number;
}

/** Waits until the node is Ready with the new minor, the datastore has its voters again and the API answers. */
export function checkStep(o: CheckInput): Step {
  return {
    id: o.id,
    node: o.node,
    title: `check: Ready on ${o.minor}${o.voters ? ", datastore voters back" : ""}${o.apiReachable ? ", API through the VIP" : ""}`,
    describe: [
      `on ${o.runner}: kubectl get nodes until ${o.node} is Ready with kubelet ${o.minor}.x`,
      ...(o.voters ? [`${o.voters.via} until the datastore has ${o.voters.expected} voters again`] : []),
      ...(o.apiReachable ? ["the API answers through the VIP"] : []),
    ],
    async run(ctx) {
      const runner = need(ctx.hosts, o.runner);
      let seen = "not listed";
      const ready = await pollUntil(ctx, o.timeoutMs, async () => {
        const res = await runner.exec(o.kubectl("get", "nodes", "-o", "json"));
        if (res.code !== 0) return false;
        const kube = parseNodes(res.stdout).find((n) => n.name === o.node);
        seen = kube ? `${kube.ready ? "Ready" : "NotReady"}, kubelet ${kube.version ?? "?"}` : "not listed";
        return kube !== undefined && kube.ready && minorOfVersion(kube.version) === o.minor;
      });
      if (!ready) throw stuck(o.node, `is not Ready with ${o.minor} after ${o.timeoutMs / 1000}s (now: ${seen})`);
      if (o.voters) {
        const { expected, count } = o.voters;
        const host = need(ctx.hosts, o.node);
        let voters = 0;
        const back = await pollUntil(ctx, o.timeoutMs, async () => (voters = await count(host)) >= expected);
        if (!back) throw stuck(o.node, `upgraded, but the datastore has ${voters} voters, not ${expected}`);
      }
      if (o.apiReachable && !(await pollUntil(ctx, 60_000, o.apiReachable)))
        throw stuck(o.node, "upgraded, but the API does not answer through the VIP");
      return "changed";
    },
  };
}

function stuck(node: string, what: string): HactlError {
  return new HactlError("UNHEALTHY", `${node} ${what}`, {
    node,
    retryable: true,
    remedy: `${node} stays cordoned and out of the load balancers. Look at it (hactl status; journalctl on the node), then run the same hactl upgrade again to resume.`,
  });
}

/** Uncordons the node and removes hactl's mark. */
export function uncordonStep(o: { id: string; node: string; runner: string; kubectl: Kubectl }): Step {
  return actionStep({
    id: o.id,
    node: o.node,
    title: "uncordon",
    runOn: o.runner,
    actions: [runs(o.kubectl("uncordon", o.node)), runs(o.kubectl("label", "node", o.node, `${UPGRADE_LABEL}-`))],
  });
}
