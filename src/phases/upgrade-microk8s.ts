import type { LocalBundle } from "../bundle/local-files.js";
import { bundleProblems, nodeBundleDir } from "../bundle/manifest.js";
import { runs } from "../core/action.js";
import { actionStep, type Phase, type Plan, type Step } from "../core/plan.js";
import { need, type RemoteHost } from "../core/host.js";
import { microk8s, parseStatus, snapMinor } from "../distros/microk8s.js";
import type { NodeFacts } from "../gather/facts.js";
import { isMember, type Microk8sClusterState } from "../gather/microk8s-state.js";
import type { ClusterSpec, NodeSpec } from "../spec/schema.js";
import { installFromBundle, placeBundle, snapsDescribe, uploadDescribe } from "./bundle-install.js";
import { holdStep } from "./install-microk8s.js";
import {
  outlineRollingUpgrade,
  planRollingUpgrade,
  type RollingUpgradeInput,
  type UpgradeDriver,
  type UpgradeOutline,
} from "./upgrade-rolling.js";
import { minorNumber, versionPath } from "./upgrade-versions.js";

/** How long a refreshed node may take to be Ready with its new version and back in the datastore. */
const CHECK_TIMEOUT_MS = 5 * 60_000;

export interface Microk8sUpgradeInput extends RollingUpgradeInput {
  state: Microk8sClusterState;
  /** Upgrade from this offline bundle of the target minor (nothing from the snap store); `arch`: each node's. */
  offline?: OfflineUpgrade;
}

/**
 * Pure: why this upgrade must not start (each reason with its fix); empty when it may. Checked before
 * anything changes: MicroK8s on every node, a healthy cluster (every node Ready, every control plane in the
 * datastore, enough voters), no downgrade, versions mixed by at most one minor.
 */
export function microk8sUpgradeRefusals(input: Microk8sUpgradeInput): string[] {
  const { spec, state, target } = input;
  const refusals: string[] = [];
  const minors = currentMinors(input);
  for (const n of spec.spec.nodes) {
    if (!state.installed.has(n.name)) refusals.push(`${n.name} has no MicroK8s: run hactl install first.`);
    else if (!minors.has(n.name))
      refusals.push(`${n.name}: the MicroK8s version cannot be read from 'snap list microk8s'.`);
  }
  if (!state.leader) refusals.push("no control plane runs MicroK8s: run hactl install first.");
  for (const n of spec.spec.nodes) {
    if (!state.installed.has(n.name) || !state.leader) continue;
    const kube = state.kubeNodes.find((k) => k.name === n.name);
    if (!kube) refusals.push(`${n.name} is not in the cluster: run hactl install (or hactl add-node ${n.name}) first.`);
    else if (!kube.ready)
      refusals.push(`${n.name} is NotReady: an upgrade needs a healthy cluster (hactl status shows why).`);
    else if (n.role === "control-plane" && !isMember(state, n))
      refusals.push(`${n.name} is a control plane without a datastore seat: run hactl install first.`);
  }
  const leaderStatus = state.leader ? state.status.get(state.leader) : undefined;
  const cps = spec.spec.nodes.filter((n) => n.role === "control-plane").length;
  const voters = leaderStatus?.datastore.filter((m) => m.role === "voter").length ?? 0;
  if (state.leader && voters < Math.min(3, cps))
    refusals.push(
      `the datastore has ${voters} voters, ${Math.min(3, cps)} expected: an upgrade takes one away at a time (hactl status).`,
    );
  refusals.push(
    ...versionRefusals(minors, target, {
      downgrade: "MicroK8s cannot be downgraded by changing channels (it breaks the datastore)",
      byHand: (minor) => `snap refresh microk8s --channel=${minor}/stable, one at a time`,
    }),
  );
  if (input.offline) refusals.push(...offlineRefusals(spec, target, currentMinors(input), input.offline));
  return refusals;
}

/** An upgrade from an offline bundle of the target minor, with each node's architecture (`uname -m`). */
export interface OfflineUpgrade {
  bundle: LocalBundle;
  arch: ReadonlyMap<string, Pick<NodeFacts, "arch">>;
}

/**
 * Pure, for every distribution: an offline upgrade needs a bundle of the distribution at the target minor
 * for the nodes' architecture, and a path of one minor (a bundle holds one; each further minor needs its
 * own run and bundle).
 */
export function offlineRefusals(
  spec: ClusterSpec,
  target: string,
  minors: ReadonlyMap<string, string>,
  offline: OfflineUpgrade,
): string[] {
  const refusals = bundleProblems(offline.bundle.manifest, spec, offline.arch, target).map(
    (p) => `${p.message}: ${p.fix}`,
  );
  const path = versionPath([...minors.values()], target);
  if (path.length > 1) {
    const first = path[0] ?? target;
    refusals.push(
      `the upgrade to ${target} passes ${path.join(" → ")}, the bundle holds ${target} only: upgrade to ${first} first with a bundle of ${first} (hactl upgrade --to ${first} --bundle FILE).`,
    );
  }
  return refusals;
}

/**
 * Pure, for every distribution: no downgrade, and versions mixed by at most one minor (the lower nodes are
 * then brought up first, as the first pass does).
 */
export function versionRefusals(
  minors: ReadonlyMap<string, string>,
  target: string,
  say: { downgrade: string; byHand: (minor: string) => string },
): string[] {
  const values = [...minors.values()];
  if (values.length === 0) return [];
  const refusals: string[] = [];
  const highest = values.reduce((a, b) => (minorNumber(b) > minorNumber(a) ? b : a));
  const lowest = values.reduce((a, b) => (minorNumber(b) < minorNumber(a) ? b : a));
  if (minorNumber(target) < minorNumber(highest)) {
    const on = [...minors].filter(([, m]) => m === highest).map(([n]) => n);
    refusals.push(
      `${target} is lower than ${highest} on ${on.join(", ")}: ${say.downgrade}. Give --to ${highest} or higher.`,
    );
  }
  if (minorNumber(highest) - minorNumber(lowest) > 1) {
    const step = `1.${minorNumber(highest) - 1}`;
    refusals.push(
      `the nodes run ${lowest} to ${highest}, more than one minor apart: bring the ${lowest} nodes to ${step} by hand (${say.byHand(step)}), then run hactl upgrade.`,
    );
  }
  return refusals;
}

/** Each installed node's minor, from its snap's tracking channel or version. */
export function currentMinors(input: Pick<Microk8sUpgradeInput, "spec" | "state">): Map<string, string> {
  const minors = new Map<string, string>();
  for (const n of input.spec.spec.nodes) {
    const snap = input.state.snaps.get(n.name);
    const minor = snap ? snapMinor(snap) : undefined;
    if (minor) minors.set(n.name, minor);
  }
  return minors;
}

/** The control plane that runs kubectl for `node`: the first other control plane with MicroK8s. */
function runnerFor(spec: ClusterSpec, state: Microk8sClusterState, node: string): string {
  const cps = spec.spec.nodes.filter((n) => n.role === "control-plane" && state.installed.has(n.name));
  return (cps.find((n) => n.name !== node) ?? cps[0] ?? { name: node }).name;
}

const voterCount = async (host: RemoteHost): Promise<number> => {
  const res = await host.exec(microk8s.statusYaml());
  return parseStatus(res.stdout).datastore.filter((m) => m.role === "voter").length;
};

/** What MicroK8s contributes to the rolling upgrade: holds, `snap refresh --channel` + wait-ready, voters. */
export function microk8sDriver(input: Microk8sUpgradeInput): UpgradeDriver {
  const { spec, state } = input;
  const leaderStatus = state.leader ? state.status.get(state.leader) : undefined;
  const expectedVoters = leaderStatus?.datastore.filter((m) => m.role === "voter").length ?? 0;
  const unheld = spec.spec.nodes.filter((n) => state.installed.has(n.name) && !state.snaps.get(n.name)?.held);
  return {
    minors: currentMinors(input),
    leader: state.leader,
    kubeNodes: state.kubeNodes,
    kubectl: microk8s.kubectl,
    runnerFor: (node) => runnerFor(spec, state, node),
    preamble: [
      { title: "Hold MicroK8s refreshes", mode: "parallel", steps: unheld.map((n) => holdStep(n, true)) },
      ...(input.offline ? [uploadPhase(input.spec, input.target, currentMinors(input), input.offline.bundle)] : []),
    ],
    upgradeSteps: (node, minor) => [
      input.offline
        ? refreshFromBundleStep(`refresh:${minor}:${node.name}`, node.name, minor, input.offline.bundle)
        : refreshStep(`refresh:${minor}:${node.name}`, node.name, minor),
    ],
    datastoreCheck: (node) =>
      isVoter(input, node) ? { expected: expectedVoters, count: voterCount, via: "microk8s status" } : undefined,
    checkTimeoutMs: CHECK_TIMEOUT_MS,
  };
}

/** Pure: the order of the whole upgrade (assumes no refusals); see outlineRollingUpgrade. */
export function outlineMicrok8sUpgrade(input: Microk8sUpgradeInput): UpgradeOutline {
  return outlineRollingUpgrade(input, microk8sDriver(input));
}

/**
 * Pure: the MicroK8s rolling upgrade as phases: refreshes held everywhere first, then the rolling passes
 * (src/phases/upgrade-rolling.ts) with `snap refresh --channel=<minor>/stable` + wait-ready as each node's
 * upgrade and the datastore's voters back as the control planes' check.
 */
export function planMicrok8sUpgrade(input: Microk8sUpgradeInput, outline = outlineMicrok8sUpgrade(input)): Plan {
  return planRollingUpgrade(input, outline, microk8sDriver(input));
}

function isVoter(input: Microk8sUpgradeInput, node: NodeSpec): boolean {
  const leaderStatus = input.state.leader ? input.state.status.get(input.state.leader) : undefined;
  return leaderStatus?.datastore.some((m) => m.role === "voter" && m.address.startsWith(`${node.address}:`)) ?? false;
}

/** `snap refresh microk8s --channel=<minor>/stable`, then `microk8s status --wait-ready`. */
function refreshStep(id: string, node: string, minor: string): Step {
  return actionStep({
    id,
    node,
    title: `snap refresh to ${minor}/stable`,
    actions: [runs(microk8s.refresh(minor)), runs(microk8s.waitReady(300))],
  });
}

/** Pure, for every distribution: the bundle sent to every node not at the target yet, all at once, before any node changes. */
export function uploadPhase(
  spec: ClusterSpec,
  target: string,
  minors: ReadonlyMap<string, string>,
  bundle: LocalBundle,
): Phase {
  const behind = spec.spec.nodes.filter((n) => minors.has(n.name) && minors.get(n.name) !== target);
  return {
    title: "Send the offline bundle",
    mode: "parallel",
    steps: behind.map((n) => ({
      id: `bundle:${bundle.sha256.slice(0, 16)}:${n.name}`,
      node: n.name,
      title: `send ${bundle.manifest.distribution.type} ${bundle.manifest.distribution.version} (offline bundle)`,
      describe: [uploadDescribe(bundle)],
      async run(ctx) {
        await placeBundle(need(ctx.hosts, n.name), bundle, ctx.log);
        return "changed";
      },
    })),
  };
}

/**
 * From the bundle already on the node: `snap ack` + `snap install ./FILE` of the base and of MicroK8s
 * (snapd refreshes the installed snap to the file's revision, keeping its tracking channel), then
 * `snap switch` to the minor's channel (no download), then `microk8s status --wait-ready`.
 */
function refreshFromBundleStep(id: string, node: string, minor: string, bundle: LocalBundle): Step {
  return {
    id,
    node,
    title: `refresh to ${minor} from the offline bundle`,
    describe: [
      ...snapsDescribe(bundle),
      `snap switch --channel=${minor}/stable microk8s (the tracking channel only)`,
      "microk8s status --wait-ready",
    ],
    async run(ctx) {
      const host = need(ctx.hosts, node);
      await installFromBundle(host, bundle, nodeBundleDir(bundle.sha256));
      await host.run(microk8s.switchChannel(minor), { signal: ctx.signal });
      await host.run(microk8s.waitReady(300), { signal: ctx.signal });
      return "changed";
    },
  };
}
