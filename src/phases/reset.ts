import { commandLine } from "../core/action.js";
import { need } from "../core/host.js";
import type { Phase, Step } from "../core/plan.js";
import type { DistributionName } from "../distros/driver.js";
import { driverNamed } from "../distros/registry.js";
import type { ClusterSpec } from "../spec/schema.js";
import { withoutHostsBlock } from "./hosts-file.js";
import {
  APT_KEYRING,
  APT_LIST,
  CONTAINERD_CONFIG,
  KUBE_PACKAGES,
  MODULES_FILE,
  SYSCTL_FILE,
} from "./kubeadm/prepare.js";
import { NONLOCAL_BIND_FILE } from "./prepare-hosts.js";

/**
 * Taking a machine back to what it was before hactl: the distribution uninstalled, hactl's
 * load-balancer configs, sysctl and module files gone (the files they replaced put back), hactl's
 * /etc/hosts block removed and its state directory deleted. Every step checks before it changes, so a
 * second run reports "already done".
 */

/** The load-balancer files hactl writes (src/lb/render.ts) and the service that reads each. */
export const LB_FILES: readonly { path: string; service: "keepalived" | "haproxy" | "nginx" }[] = [
  { path: "/etc/keepalived/keepalived.conf", service: "keepalived" },
  { path: "/etc/keepalived/check_haproxy.sh", service: "keepalived" },
  { path: "/etc/keepalived/check_nginx.sh", service: "keepalived" },
  { path: "/etc/haproxy/haproxy.cfg", service: "haproxy" },
  { path: "/etc/nginx/nginx.conf", service: "nginx" },
];

const HACTL_STATE_DIR = "/var/lib/hactl";
const STAMPS = `${HACTL_STATE_DIR}/lb-applied`;

/**
 * `restore FILE SERVICE`: when FILE is hactl's (its marker, or hactl applied the service's configs; "-"
 * for files only hactl writes), put back the file hactl first found there (FILE.hactl-orig, else
 * FILE.hactl-bak, unless that is itself one of hactl's), else delete it; the backups go too. Prints what
 * it did, one line per file.
 */
const RESTORE_FN = `restore() {
  f=$1 svc=$2
  [ -e "$f" ] || [ -e "$f.hactl-orig" ] || [ -e "$f.hactl-bak" ] || return 0
  if [ -e "$f" ] && [ "$svc" != "-" ] && ! grep -q "Managed by hactl" "$f" 2>/dev/null && [ ! -e "${STAMPS}/$svc" ]; then return 0; fi
  for b in "$f.hactl-orig" "$f.hactl-bak"; do
    if [ -e "$b" ] && ! grep -q "Managed by hactl" "$b" 2>/dev/null; then
      mv -f "$b" "$f"; rm -f "$f.hactl-orig" "$f.hactl-bak"; echo "restored $f"; return 0
    fi
  done
  rm -f "$f" "$f.hactl-orig" "$f.hactl-bak"; echo "removed $f"
}`;

/** Stops and disables the services hactl configured, then restores their config files. */
const LB_SCRIPT = `${RESTORE_FN}
for svc in keepalived haproxy nginx; do
  mine=no
  [ -e "${STAMPS}/$svc" ] && mine=yes
  for f in "$@"; do case "$f" in "$svc:"*) grep -q "Managed by hactl" "\${f#*:}" 2>/dev/null && mine=yes;; esac; done
  if [ "$mine" = yes ]; then
    systemctl stop "$svc" >/dev/null 2>&1 && echo "stopped $svc"
    systemctl disable "$svc" >/dev/null 2>&1
  fi
done
for f in "$@"; do restore "\${f#*:}" "\${f%%:*}"; done
rm -rf "${STAMPS}"`;

/** Removes hactl's sysctl and module files; the live VIP-binding switch goes back to the kernel default. */
const SYSCTL_SCRIPT = `${RESTORE_FN}
had_bind=no
[ -e "$1" ] && had_bind=yes
for f in "$@"; do restore "$f" -; done
if [ "$had_bind" = yes ]; then sysctl -w net.ipv4.ip_nonlocal_bind=0 >/dev/null && echo "net.ipv4.ip_nonlocal_bind = 0"; fi`;

/** kubeadm: the node reset, the packages hactl installed (only those dpkg lists), the apt source. */
const KUBEADM_UNINSTALL_SCRIPT = `${RESTORE_FN}
if command -v kubeadm >/dev/null 2>&1; then kubeadm reset -f; fi
pkgs=
for p in "$@"; do
  if dpkg-query -W -f='\${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then pkgs="$pkgs $p"; fi
done
if [ -n "$pkgs" ]; then
  apt-mark unhold $pkgs >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get purge -y $pkgs
fi
for f in ${APT_LIST} ${APT_KEYRING}; do restore "$f" -; done
if [ -e ${CONTAINERD_CONFIG}.hactl-orig ] || [ -e ${CONTAINERD_CONFIG}.hactl-bak ]; then restore ${CONTAINERD_CONFIG} -; fi
rm -rf /etc/kubernetes`;

/** hactl's state directory (lock, journal, applied stamps); its contents first, in case it is a mount point. */
const STATE_SCRIPT = `if [ -d "$1" ] && [ -n "$(ls -A "$1")" ]; then find "$1" -mindepth 1 -delete; echo removed; fi
rmdir "$1" 2>/dev/null || true`;

/** MicroK8s: the snap and its data (no automatic snapshot is kept). */
const MICROK8S_UNINSTALL_SCRIPT = `if snap list microk8s >/dev/null 2>&1; then snap remove --purge microk8s; else echo "microk8s is not installed"; exit 0; fi`;

function scriptStep(
  id: string,
  node: string,
  title: string,
  describe: string[],
  script: string,
  args: readonly string[],
  changedWhen: (stdout: string) => boolean,
  timeoutMs = 120_000,
): Step {
  return {
    id,
    node,
    title,
    describe,
    async run(ctx) {
      const r = await need(ctx.hosts, node).run(
        { argv: ["sh", "-c", script, `hactl-${id.split(":")[0] ?? "reset"}`, ...args], sudo: true, timeoutMs },
        { signal: ctx.signal },
      );
      for (const line of r.stdout.split("\n").filter(Boolean)) ctx.log(line);
      return changedWhen(r.stdout) ? "changed" : "unchanged";
    },
  };
}

/** What uninstalling a distribution from a node runs, and how the dry run describes it. */
interface Uninstall {
  title: string;
  describe: string[];
  script: string;
  args: readonly string[];
  changedWhen: (stdout: string) => boolean;
  timeoutMs: number;
}

const UNINSTALL: Record<DistributionName, Uninstall> = {
  microk8s: {
    title: "snap remove --purge microk8s",
    describe: ["snap remove --purge microk8s (when installed)"],
    script: MICROK8S_UNINSTALL_SCRIPT,
    args: [],
    changedWhen: (out) => !out.includes("microk8s is not installed"),
    timeoutMs: 10 * 60_000,
  },
  kubeadm: {
    title: "kubeadm reset -f, remove the Kubernetes packages",
    describe: [
      "kubeadm reset -f",
      `apt-get purge ${KUBE_PACKAGES.join(" ")} (those installed)`,
      `remove ${APT_LIST}, ${APT_KEYRING}; restore ${CONTAINERD_CONFIG} from its backup`,
      "remove /etc/kubernetes",
    ],
    script: KUBEADM_UNINSTALL_SCRIPT,
    args: KUBE_PACKAGES,
    changedWhen: () => true,
    timeoutMs: 15 * 60_000,
  },
};

/** Pure: the step that uninstalls the distribution from one node. */
export function uninstallStep(distribution: DistributionName, node: string): Step {
  const u = UNINSTALL[distribution];
  return scriptStep(`uninstall:${node}`, node, u.title, u.describe, u.script, u.args, u.changedWhen, u.timeoutMs);
}

/**
 * Pure: after a node removed with --force came back and was cleaned, its kubelet may have registered it
 * again before it was uninstalled: the Node object goes, from a control plane.
 */
export function forgetNodeStep(
  distribution: ClusterSpec["spec"]["distribution"]["type"],
  name: string,
  runner: string,
): Step {
  const command = driverNamed(distribution).kubectl("delete", "node", name, "--ignore-not-found");
  return {
    id: `forget:${name}`,
    node: runner,
    title: `delete ${name}'s Node object if it registered again`,
    describe: [commandLine(command)],
    async run(ctx) {
      const r = await need(ctx.hosts, runner).run(command, { signal: ctx.signal });
      return r.stdout.includes("deleted") ? "changed" : "unchanged";
    },
  };
}

/** Pure: the cleanup steps of one machine, after its distribution is gone. */
export function cleanupSteps(machine: string): Step[] {
  const lbArgs = LB_FILES.map((f) => `${f.service}:${f.path}`);
  return [
    scriptStep(
      `clean-lb:${machine}`,
      machine,
      "stop hactl's keepalived/haproxy/nginx, restore their configs",
      LB_FILES.map((f) => `${f.path}: put back the file hactl replaced (${f.path}.hactl-orig), or remove it`),
      LB_SCRIPT,
      lbArgs,
      (out) => out.trim() !== "",
    ),
    scriptStep(
      `clean-sysctl:${machine}`,
      machine,
      "remove hactl's sysctl and module files",
      [NONLOCAL_BIND_FILE, SYSCTL_FILE, MODULES_FILE].map((f) => `remove ${f}`),
      SYSCTL_SCRIPT,
      [NONLOCAL_BIND_FILE, SYSCTL_FILE, MODULES_FILE],
      (out) => out.trim() !== "",
    ),
    hostsBlockStep(machine),
    scriptStep(
      `clean-state:${machine}`,
      machine,
      `remove ${HACTL_STATE_DIR}`,
      [`rm -rf ${HACTL_STATE_DIR}`],
      STATE_SCRIPT,
      [HACTL_STATE_DIR],
      (out) => out.includes("removed"),
    ),
  ];
}

function hostsBlockStep(machine: string): Step {
  return {
    id: `clean-hosts:${machine}`,
    node: machine,
    title: "remove hactl's block from /etc/hosts",
    describe: ["/etc/hosts: remove the lines between # BEGIN/END hactl cluster nodes", "remove /etc/hosts.hactl-bak"],
    async run(ctx) {
      const host = need(ctx.hosts, machine);
      const current = (await host.readFile("/etc/hosts")) ?? "";
      const next = withoutHostsBlock(current);
      const backup = await host.exec({ argv: ["rm", "-f", "/etc/hosts.hactl-bak"], sudo: true });
      if (backup.code !== 0) ctx.log(`could not remove /etc/hosts.hactl-bak: ${backup.stderr.trim()}`);
      if (next === current) return "unchanged";
      // In place, as hactl wrote it: /etc/hosts is often a bind mount where a rename fails.
      await host.run({ argv: ["sh", "-c", "cat > /etc/hosts"], sudo: true, stdin: next });
      return "changed";
    },
  };
}

/** Pure: the phases that take these machines back to bare servers (distribution first, then hactl's files). */
export function resetPhases(
  distribution: ClusterSpec["spec"]["distribution"]["type"],
  nodes: readonly string[],
  lbHosts: readonly string[],
): Phase[] {
  return [
    {
      title: "Stop the load balancers",
      mode: "parallel",
      steps: [...nodes, ...lbHosts].map((m) => cleanupSteps(m)[0] as Step),
    },
    { title: "Uninstall the distribution", mode: "parallel", steps: nodes.map((n) => uninstallStep(distribution, n)) },
    {
      title: "Remove hactl's files",
      mode: "parallel",
      steps: [...nodes, ...lbHosts].flatMap((m) => cleanupSteps(m).slice(1)),
    },
  ];
}
