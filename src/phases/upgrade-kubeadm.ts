import { HactlError } from "../core/errors.js";
import type { Command } from "../core/command.js";
import { need, type RemoteHost } from "../core/host.js";
import { commandLine, runs } from "../core/action.js";
import { actionStep, type Plan, type Step } from "../core/plan.js";
import { kubeadm, minorOf, parseMemberList } from "../distros/kubeadm.js";
import { hasVotingMember, type KubeadmClusterState } from "../gather/kubeadm-state.js";
import type { ClusterSpec } from "../spec/schema.js";
import { APT_LIST } from "./kubeadm/prepare.js";
import { offlineRefusals, uploadPhase, versionRefusals, type OfflineUpgrade } from "./upgrade-microk8s.js";
import type { LocalBundle } from "../bundle/local-files.js";
import { nodeBundleDir } from "../bundle/manifest.js";
import {
  outlineRollingUpgrade,
  planRollingUpgrade,
  type RollingUpgradeInput,
  type UpgradeDriver,
  type UpgradeOutline,
} from "./upgrade-rolling.js";
import { minorNumber, minorOfVersion } from "./upgrade-versions.js";

/** How long an upgraded node may take to be Ready with its new kubelet and its etcd member back. */
const CHECK_TIMEOUT_MS = 5 * 60_000;

export interface KubeadmUpgradeInput extends RollingUpgradeInput {
  state: KubeadmClusterState;
  /** Upgrade from this offline bundle of the target minor (nothing from pkgs.k8s.io or a registry). */
  offline?: OfflineUpgrade;
}

/** Each node's minor, from the kubelet version `kubectl get nodes` shows. */
export function kubeadmMinors(input: Pick<KubeadmUpgradeInput, "spec" | "state">): Map<string, string> {
  const minors = new Map<string, string>();
  for (const n of input.spec.spec.nodes) {
    const minor = minorOfVersion(input.state.kubeNodes.find((k) => k.name === n.name)?.version);
    if (minor) minors.set(n.name, minor);
  }
  return minors;
}

/**
 * Pure: why this upgrade must not start (each reason with its fix); empty when it may. Checked before
 * anything changes: kubeadm on every node, a healthy cluster (every node Ready, every control plane with a
 * voting etcd member, etcd answering), no downgrade, versions mixed by at most one minor (kubelets' and
 * control planes' own versions alike).
 */
export function kubeadmUpgradeRefusals(input: KubeadmUpgradeInput): string[] {
  const { spec, state, target } = input;
  const refusals: string[] = [];
  const minors = kubeadmMinors(input);
  for (const n of spec.spec.nodes)
    if (!state.installed.has(n.name))
      refusals.push(`${n.name} has not joined the cluster (no /etc/kubernetes/kubelet.conf): run hactl install first.`);
  if (!state.leader) refusals.push("no control plane answers kubectl with its admin.conf: run hactl status.");
  for (const n of spec.spec.nodes) {
    if (!state.installed.has(n.name) || !state.leader) continue;
    const kube = state.kubeNodes.find((k) => k.name === n.name);
    if (!kube) refusals.push(`${n.name} is not in the cluster: run hactl install (or hactl add-node ${n.name}) first.`);
    else if (!kube.ready)
      refusals.push(`${n.name} is NotReady: an upgrade needs a healthy cluster (hactl status shows why).`);
    else if (!minors.has(n.name))
      refusals.push(`${n.name}: its kubelet version cannot be read from kubectl get nodes.`);
    else if (n.role === "control-plane" && state.etcdReadable && !hasVotingMember(state, n.address))
      refusals.push(`${n.name} is a control plane without a voting etcd member: run hactl install first.`);
  }
  const cps = spec.spec.nodes.filter((n) => n.role === "control-plane");
  if (state.leader && !state.etcdReadable)
    refusals.push(
      `etcd does not answer on ${state.leader}: an upgrade restarts one member at a time and needs all of them (hactl status).`,
    );
  const voting = state.members.filter((m) => !m.learner).length;
  if (state.leader && state.etcdReadable && voting < cps.length)
    refusals.push(
      `etcd has ${voting} voting members, ${cps.length} expected: an upgrade takes one away at a time (hactl status).`,
    );
  refusals.push(
    ...versionRefusals(versionsOnNodes(minors, state), target, {
      downgrade: "kubeadm does not downgrade a cluster by a minor",
      byHand: (minor) => `kubeadm, kubelet and kubectl ${minor}, kubeadm upgrade node, one node at a time`,
    }),
  );
  if (input.offline) refusals.push(...offlineRefusals(spec, target, minors, input.offline));
  return refusals;
}

/**
 * The minors the version rules apply to: each node's kubelet, and a control plane's own (its
 * kube-apiserver) where it differs, e.g. after `kubeadm upgrade apply` ran and the kubelet package did not.
 */
function versionsOnNodes(kubelets: ReadonlyMap<string, string>, state: KubeadmClusterState): Map<string, string> {
  const versions = new Map(kubelets);
  for (const [name, version] of state.apiServerVersions) {
    const minor = minorOfVersion(version);
    if (minor && minor !== kubelets.get(name)) versions.set(`${name}'s kube-apiserver`, minor);
  }
  return versions;
}

/** The control plane that runs kubectl for `node`: the first other control plane with an admin.conf. */
function runnerFor(spec: ClusterSpec, state: KubeadmClusterState, node: string): string {
  const cps = spec.spec.nodes.filter((n) => n.role === "control-plane" && state.admins.has(n.name));
  return (cps.find((n) => n.name !== node) ?? cps[0] ?? { name: node }).name;
}

/** Voting etcd members that report `started`, as the node's own member answers (so it is up too). */
const startedMembers = async (host: RemoteHost): Promise<number> => {
  const res = await host.exec(kubeadm.etcdctl("member", "list"));
  return res.code === 0 ? parseMemberList(res.stdout).filter((m) => !m.learner && m.status === "started").length : 0;
};

/** What kubeadm contributes to the rolling upgrade: packages, kubeadm upgrade apply/node, kubelet restart, etcd members. */
export function kubeadmDriver(input: KubeadmUpgradeInput): UpgradeDriver {
  const { spec, state } = input;
  const expected = state.members.filter((m) => !m.learner).length;
  const minors = kubeadmMinors(input);
  // A control plane already on the minor (its kubelet or its own kube-apiserver) means a stopped run got
  // past `kubeadm upgrade apply`.
  const cpMinors = [
    ...spec.spec.nodes.filter((n) => n.role === "control-plane").flatMap((n) => minors.get(n.name) ?? []),
    ...[...state.apiServerVersions.values()].flatMap((v) => minorOfVersion(v) ?? []),
  ];
  const applied = (minor: string): boolean => cpMinors.some((m) => minorNumber(m) >= minorNumber(minor));
  return {
    minors,
    leader: state.leader,
    kubeNodes: state.kubeNodes,
    kubectl: kubeadm.kubectl,
    runnerFor: (node) => runnerFor(spec, state, node),
    preamble: input.offline ? [uploadPhase(spec, input.target, minors, input.offline.bundle)] : [],
    upgradeSteps: (node, minor, first) => {
      const bundle = input.offline?.bundle;
      const packages = (names: readonly string[], restart = false): Step =>
        bundle
          ? bundlePackagesStep(node.name, minor, names, bundle, restart)
          : packagesStep(node.name, minor, names, restart);
      return [
        packages(["kubeadm"]),
        node.role === "control-plane" && first && !applied(minor)
          ? applyStep(node.name, minor)
          : upgradeNodeStep(node.name, minor),
        packages(["kubelet", "kubectl"], true),
      ];
    },
    datastoreCheck: (node) =>
      hasVotingMember(state, node.address)
        ? { expected, count: startedMembers, via: "etcdctl member list (on the node)" }
        : undefined,
    checkTimeoutMs: CHECK_TIMEOUT_MS,
  };
}

/** Pure: the order of the whole upgrade (assumes no refusals); see outlineRollingUpgrade. */
export function outlineKubeadmUpgrade(input: KubeadmUpgradeInput): UpgradeOutline {
  return outlineRollingUpgrade(input, kubeadmDriver(input));
}

/**
 * Pure: the kubeadm rolling upgrade as phases (src/phases/upgrade-rolling.ts). Each node's upgrade: the
 * kubeadm package of the pass's minor; on the pass's first control plane `kubeadm upgrade plan` and
 * `kubeadm upgrade apply vX.Y.Z -y` (X.Y.Z: that kubeadm's own version; kubeadm itself refuses to skip a
 * minor), on every other node `kubeadm upgrade node` (also on a resumed run once a control plane is on the
 * minor); then the kubelet and kubectl packages and a kubelet restart.
 */
export function planKubeadmUpgrade(input: KubeadmUpgradeInput, outline = outlineKubeadmUpgrade(input)): Plan {
  return planRollingUpgrade(input, outline, kubeadmDriver(input));
}

/**
 * The packages of one minor, as install holds them: only binaries that belong to the Debian package of
 * their name (others are the operator's own and are left alone); the pkgs.k8s.io repository switched to
 * the minor when the node uses it; unhold, install `PKG=<minor>.*`, hold again (also when the install fails).
 */
const PACKAGES_SCRIPT = `set -e
minor="$1"; list="$2"; restart="$3"; shift 3
pkgs=""
for p in "$@"; do
  b=$(command -v "$p") || continue
  o=$(dpkg -S "$(readlink -f "$b")" 2>/dev/null | head -n1 | cut -d: -f1)
  [ "$o" = "$p" ] && pkgs="$pkgs $p"
done
if [ -z "$pkgs" ]; then echo "hactl: not from Debian packages: $*"; exit 0; fi
if [ -f "$list" ] && grep -q 'pkgs.k8s.io/core:/stable:/v' "$list" && ! grep -q "/v$minor/deb" "$list"; then
  sed -i -E "s#(pkgs\\.k8s\\.io/core:/stable:/v)[0-9]+\\.[0-9]+/deb#\\1$minor/deb#" "$list"
  echo "hactl: $list now names v$minor"
fi
apt-get update -q
apt-mark unhold $pkgs
trap 'apt-mark hold $pkgs' EXIT
set --
for p in $pkgs; do set -- "$@" "$p=$minor.*"; done
DEBIAN_FRONTEND=noninteractive apt-get install -y "$@"
if [ "$restart" = yes ]; then systemctl daemon-reload; systemctl restart kubelet; fi`;

function packagesCommand(minor: string, packages: readonly string[], restartKubelet: boolean): Command {
  return {
    argv: [
      "sh",
      "-c",
      PACKAGES_SCRIPT,
      "hactl-kube-packages",
      minor,
      APT_LIST,
      restartKubelet ? "yes" : "no",
      ...packages,
    ],
    sudo: true,
    timeoutMs: 15 * 60_000,
  };
}

function packagesStep(node: string, minor: string, packages: readonly string[], restartKubelet = false): Step {
  const list = packages.join(", ");
  return {
    id: `packages:${minor}:${node}:${packages.join("+")}`,
    node,
    title: `${list} ${minor} (apt, held)${restartKubelet ? ", kubelet restarted" : ""}`,
    describe: [
      `${APT_LIST}: pkgs.k8s.io v${minor} (when the node uses that repository); apt-get update`,
      `apt-mark unhold ${packages.join(" ")}; apt-get install -y ${packages.map((p) => `${p}='${minor}.*'`).join(" ")}; apt-mark hold ${packages.join(" ")}`,
      ...(restartKubelet ? ["systemctl daemon-reload; systemctl restart kubelet"] : []),
    ],
    async run(ctx) {
      const host = need(ctx.hosts, node);
      const res = await host.run(packagesCommand(minor, packages, restartKubelet), { signal: ctx.signal });
      for (const line of res.stdout.split("\n").filter((l) => l.startsWith("hactl:") || /upgraded,|Setting up/.test(l)))
        ctx.log(line);
      if (packages.includes("kubeadm")) {
        const installed = minorOf((await host.run(kubeadm.versionShort())).stdout);
        if (installed !== minor) {
          throw new HactlError(
            "COMMAND_FAILED",
            `kubeadm on ${node} is ${installed ?? "of unknown version"} after the package upgrade, not ${minor}`,
            {
              node,
              remedy: `kubeadm on ${node} is not from the kubeadm Debian package: install kubeadm ${minor} there yourself, then run the same hactl upgrade again.`,
            },
          );
        }
      }
      return "changed";
    },
  };
}

/**
 * From the bundle already on the node: unhold, `apt-get install --no-download` of the packages' files
 * (hold again, also when it fails), with kubeadm also `ctr -n k8s.io images import` of the bundle's image
 * tarballs, so `kubeadm upgrade` and the kubelets find every image without a registry.
 */
const BUNDLE_PACKAGES_SCRIPT = `set -e
restart="$1"; pkgs="$2"; shift 2
apt-mark unhold $pkgs
trap 'apt-mark hold $pkgs' EXIT
DEBIAN_FRONTEND=noninteractive apt-get install -y --no-download --allow-change-held-packages "$@"
if [ "$restart" = yes ]; then systemctl daemon-reload; systemctl restart kubelet; fi`;

function bundlePackagesStep(
  node: string,
  minor: string,
  packages: readonly string[],
  bundle: LocalBundle,
  restartKubelet: boolean,
): Step {
  const dir = nodeBundleDir(bundle.sha256);
  const files = bundle.manifest.files;
  const debs = packages.map((p) => `${dir}/${files.find((f) => f.kind === "deb" && f.of === p)?.name ?? `${p}.deb`}`);
  const imports = packages.includes("kubeadm")
    ? files.filter((f) => f.kind === "images").map((f) => kubeadm.importImages(`${dir}/${f.name}`))
    : [];
  const install: Command = {
    argv: [
      "sh",
      "-c",
      BUNDLE_PACKAGES_SCRIPT,
      "hactl-kube-packages",
      restartKubelet ? "yes" : "no",
      packages.join(" "),
      ...debs,
    ],
    sudo: true,
    timeoutMs: 15 * 60_000,
  };
  return {
    id: `packages:${minor}:${node}:${packages.join("+")}`,
    node,
    title: `${packages.join(", ")} ${minor} from the offline bundle (held)${restartKubelet ? ", kubelet restarted" : ""}`,
    describe: [
      `apt-mark unhold ${packages.join(" ")}; apt-get install -y --no-download ${debs.join(" ")}; apt-mark hold ${packages.join(" ")}`,
      ...imports.map(commandLine),
      ...(restartKubelet ? ["systemctl daemon-reload; systemctl restart kubelet"] : []),
    ],
    async run(ctx) {
      const host = need(ctx.hosts, node);
      const res = await host.run(install, { signal: ctx.signal });
      for (const line of res.stdout.split("\n").filter((l) => /upgraded,|Setting up/.test(l))) ctx.log(line);
      for (const command of imports) await host.run(command, { signal: ctx.signal });
      if (packages.includes("kubeadm")) {
        const installed = minorOf((await host.run(kubeadm.versionShort())).stdout);
        if (installed !== minor)
          throw new HactlError(
            "COMMAND_FAILED",
            `kubeadm on ${node} is ${installed ?? "of unknown version"} after installing the bundle's package, not ${minor}`,
            {
              node,
              remedy: `kubeadm on ${node} is not from the kubeadm Debian package: install kubeadm ${minor} there yourself, then run the same hactl upgrade again.`,
            },
          );
      }
      return "changed";
    },
  };
}

/** `kubeadm upgrade plan`, then `kubeadm upgrade apply <its own version> -y`. */
function applyStep(node: string, minor: string): Step {
  return {
    id: `kubeadm-apply:${minor}:${node}`,
    node,
    title: `kubeadm upgrade plan + apply (control plane to ${minor})`,
    describe: [
      "kubeadm upgrade plan",
      `kubeadm upgrade apply v${minor}.x -y (x: the patch of the kubeadm ${minor} package, kubeadm version -o short)`,
    ],
    async run(ctx) {
      const host = need(ctx.hosts, node);
      const plan = await host.run(
        { argv: ["kubeadm", "upgrade", "plan"], sudo: true, timeoutMs: 5 * 60_000 },
        { signal: ctx.signal },
      );
      for (const line of plan.stdout
        .split("\n")
        .filter((l) => /kubeadm upgrade apply|up-to-date|Target version/.test(l)))
        ctx.log(line.trim());
      const version = (await host.run(kubeadm.versionShort())).stdout.trim();
      if (minorOf(version) !== minor) {
        throw new HactlError("COMMAND_FAILED", `kubeadm on ${node} is ${version}, not ${minor}`, {
          node,
          remedy: `Install kubeadm ${minor} on ${node}, then run the same hactl upgrade again.`,
        });
      }
      await host.run(
        { argv: ["kubeadm", "upgrade", "apply", version, "-y"], sudo: true, timeoutMs: 20 * 60_000 },
        { signal: ctx.signal },
      );
      ctx.log(`control plane upgraded to ${version}`);
      return "changed";
    },
  };
}

/** `kubeadm upgrade node`: a further control plane's static pods, or a worker's kubelet configuration. */
function upgradeNodeStep(node: string, minor: string): Step {
  return actionStep({
    id: `kubeadm-node:${minor}:${node}`,
    node,
    title: `kubeadm upgrade node (to ${minor})`,
    actions: [runs({ argv: ["kubeadm", "upgrade", "node"], sudo: true, timeoutMs: 20 * 60_000 })],
  });
}
