import { HactlError } from "../../core/errors.js";
import { need, type RemoteHost } from "../../core/host.js";
import type { Step, StepOutcome } from "../../core/plan.js";
import { kubeadm, minorOf } from "../../distros/kubeadm.js";
import type { LocalBundle } from "../../bundle/local-files.js";
import { filesDescribe, installFromBundle, placeBundle } from "../bundle-install.js";

/**
 * Host preparation for kubeadm. Every step reads the node first and changes only what differs, so a
 * re-run reports "already done" everywhere. A step that cannot reach its goal fails with the reason;
 * none reports success it did not check.
 */

export const MODULES_FILE = "/etc/modules-load.d/k8s.conf";
export const MODULES = "overlay\nbr_netfilter\n";
export const SYSCTL_FILE = "/etc/sysctl.d/k8s.conf";
export const SYSCTLS: readonly string[] = [
  "net.bridge.bridge-nf-call-iptables",
  "net.bridge.bridge-nf-call-ip6tables",
  "net.ipv4.ip_forward",
];
export const SYSCTL_CONTENT = `${SYSCTLS.map((k) => `${k} = 1`).join("\n")}\n`;
export const CONTAINERD_CONFIG = "/etc/containerd/config.toml";
export const KUBE_PACKAGES = ["kubelet", "kubeadm", "kubectl"] as const;
export const APT_KEYRING = "/etc/apt/keyrings/kubernetes-apt-keyring.gpg";
export const APT_LIST = "/etc/apt/sources.list.d/kubernetes.list";

/** Pure: /etc/fstab with every active swap entry commented out (other lines untouched). */
export function commentSwapLines(fstab: string): string {
  return fstab
    .split("\n")
    .map((line) => {
      const t = line.trim();
      if (t === "" || t.startsWith("#")) return line;
      const fields = t.split(/\s+/);
      return fields[2] === "swap" ? `#${line}` : line;
    })
    .join("\n");
}

/** Pure: active swap devices from /proc/swaps (header line skipped). */
export function activeSwaps(procSwaps: string): string[] {
  return procSwaps
    .split("\n")
    .slice(1)
    .map((l) => l.trim().split(/\s+/)[0] ?? "")
    .filter(Boolean);
}

/** Pure: containerd's config with the systemd cgroup driver switched on. */
export function withSystemdCgroup(config: string): string {
  return config.replace(/SystemdCgroup\s*=\s*false/g, "SystemdCgroup = true");
}

function step(
  node: string,
  id: string,
  title: string,
  describe: string[],
  run: (host: RemoteHost, log: (l: string) => void, signal: AbortSignal) => Promise<StepOutcome>,
): Step {
  return { id: `${id}:${node}`, node, title, describe, run: (ctx) => run(need(ctx.hosts, node), ctx.log, ctx.signal) };
}

export function swapOffStep(node: string): Step {
  return step(
    node,
    "swap",
    "swap off (and kept off in /etc/fstab)",
    ["swapoff -a when swap is active", "comment swap lines in /etc/fstab"],
    async (host) => {
      let changed = false;
      if (activeSwaps((await host.readFile("/proc/swaps")) ?? "").length > 0) {
        await host.run({ argv: ["swapoff", "-a"], sudo: true });
        changed = true;
      }
      const fstab = await host.readFile("/etc/fstab");
      if (fstab !== undefined) {
        const next = commentSwapLines(fstab);
        if (next !== fstab) {
          await host.writeFile("/etc/fstab", next, { mode: 0o644, sudo: true, backup: true });
          changed = true;
        }
      }
      return changed ? "changed" : "unchanged";
    },
  );
}

const MODULES_LOADED = "grep -qw overlay /proc/filesystems && test -d /proc/sys/net/bridge";

export function modulesStep(node: string): Step {
  return step(
    node,
    "modules",
    "kernel modules overlay and br_netfilter",
    [`write ${MODULES_FILE}`, "modprobe overlay br_netfilter when not loaded"],
    async (host) => {
      const file = await host.writeFile(MODULES_FILE, MODULES, { mode: 0o644, sudo: true });
      if ((await host.exec({ argv: ["sh", "-c", MODULES_LOADED] })).code === 0)
        return file.changed ? "changed" : "unchanged";
      const probe = await host.exec({ argv: ["sh", "-c", "modprobe overlay && modprobe br_netfilter"], sudo: true });
      if (probe.code !== 0 || (await host.exec({ argv: ["sh", "-c", MODULES_LOADED] })).code !== 0) {
        throw new HactlError("PREFLIGHT_FAILED", "the overlay and br_netfilter kernel modules cannot be loaded", {
          details: probe.stderr.trim().split("\n").slice(-3).join("\n"),
          remedy:
            "Install the kernel's extra modules (linux-modules-extra-$(uname -r) on Ubuntu) or use a kernel with overlayfs and br_netfilter, then run again.",
        });
      }
      return "changed";
    },
  );
}

export function sysctlStep(node: string): Step {
  return step(
    node,
    "sysctl-k8s",
    "bridge and forwarding sysctls",
    [`write ${SYSCTL_FILE}`, `sysctl -p ${SYSCTL_FILE} when a live value differs`],
    async (host) => {
      const file = await host.writeFile(SYSCTL_FILE, SYSCTL_CONTENT, { mode: 0o644, sudo: true });
      const live = await host.exec({ argv: ["sysctl", "-n", ...SYSCTLS] });
      const values = live.stdout
        .split("\n")
        .map((v) => v.trim())
        .filter(Boolean);
      if (live.code === 0 && values.length === SYSCTLS.length && values.every((v) => v === "1"))
        return file.changed ? "changed" : "unchanged";
      await host.run({ argv: ["sysctl", "-p", SYSCTL_FILE], sudo: true });
      return "changed";
    },
  );
}

export function containerdStep(node: string): Step {
  return step(
    node,
    "containerd",
    "containerd with the systemd cgroup driver",
    [
      "apt-get install containerd when missing",
      `${CONTAINERD_CONFIG}: containerd config default, SystemdCgroup = true`,
      "restart containerd when the config changed",
    ],
    async (host, log) => {
      let changed = false;
      if ((await host.exec({ argv: ["sh", "-c", "command -v containerd"] })).code !== 0) {
        log("containerd is missing: installing the distribution's package");
        await host.run({
          argv: ["env", "DEBIAN_FRONTEND=noninteractive", "apt-get", "install", "-y", "containerd"],
          sudo: true,
          timeoutMs: 15 * 60_000,
        });
        changed = true;
      }
      const current = await host.readFile(CONTAINERD_CONFIG, { sudo: true });
      if (current === undefined || !/SystemdCgroup\s*=\s*true/.test(current)) {
        const base =
          current && /SystemdCgroup/.test(current)
            ? current
            : (await host.run({ argv: ["containerd", "config", "default"] })).stdout;
        const next = withSystemdCgroup(base);
        if (!/SystemdCgroup\s*=\s*true/.test(next)) {
          throw new HactlError("CONFIG_INVALID", `${CONTAINERD_CONFIG} has no SystemdCgroup setting to switch on`, {
            remedy: `Regenerate it with 'containerd config default > ${CONTAINERD_CONFIG}' on ${node}, then run again.`,
          });
        }
        await host.run({ argv: ["mkdir", "-p", "/etc/containerd"], sudo: true });
        await host.writeFile(CONTAINERD_CONFIG, next, { mode: 0o644, sudo: true, backup: current !== undefined });
        await host.run({ argv: ["systemctl", "restart", "containerd"], sudo: true });
        changed = true;
      }
      if ((await host.exec({ argv: ["systemctl", "is-active", "containerd"], sudo: true })).code !== 0) {
        await host.run({ argv: ["systemctl", "enable", "--now", "containerd"], sudo: true });
        changed = true;
      }
      return changed ? "changed" : "unchanged";
    },
  );
}

const ADD_REPO = `set -e
minor="$1"; keyring="$2"; list="$3"
mkdir -p -m 755 /etc/apt/keyrings
curl -fsSL "https://pkgs.k8s.io/core:/stable:/v$minor/deb/Release.key" | gpg --dearmor --yes -o "$keyring"
printf 'deb [signed-by=%s] https://pkgs.k8s.io/core:/stable:/v%s/deb/ /\\n' "$keyring" "$minor" > "$list"
apt-get update`;

/** Prints `NAME PACKAGE` for each command whose binary in PATH (symlinks resolved) belongs to a Debian package. */
const OWNING_PACKAGES = `for c in "$@"; do p=$(command -v "$c") || continue; r=$(readlink -f "$p"); o=$(dpkg -S "$r" 2>/dev/null | head -n1 | cut -d: -f1); [ -n "$o" ] && echo "$c $o"; done; true`;

/** Pure: the commands whose binary in PATH is owned by the package of the same name (those apt-mark can hold). */
export function packagedBinaries(stdout: string, names: readonly string[]): string[] {
  const owned = new Map(
    stdout
      .split("\n")
      .map((l) => l.trim().split(/\s+/))
      .filter((w) => w.length === 2)
      .map(([c, o]) => [c ?? "", o ?? ""]),
  );
  return names.filter((n) => owned.get(n) === n);
}

/**
 * kubelet, kubeadm and kubectl at the cluster's minor version, from the pkgs.k8s.io repository of that
 * minor, held. Present binaries of the right minor are kept as they are (no repository is added);
 * a different minor is refused rather than changed under a running node.
 */
export function kubePackagesStep(node: string, version: string): Step {
  return step(
    node,
    "kube-packages",
    `kubelet, kubeadm, kubectl ${version} (held)`,
    [
      `when missing: ${APT_LIST} (pkgs.k8s.io v${version}), keyring ${APT_KEYRING}`,
      `apt-get install ${KUBE_PACKAGES.join(" ")}; apt-mark hold`,
    ],
    async (host, log) => {
      const present = await host.exec({
        argv: [
          "sh",
          "-c",
          `for c in ${KUBE_PACKAGES.join(" ")}; do command -v "$c" >/dev/null || echo "missing $c"; done`,
        ],
      });
      const missing = present.stdout
        .split("\n")
        .filter((l) => l.startsWith("missing "))
        .map((l) => l.slice(8));
      let changed = false;
      if (missing.length > 0) {
        log(`missing ${missing.join(", ")}: adding the Kubernetes ${version} apt repository`);
        await host.run({
          argv: ["sh", "-c", ADD_REPO, "hactl-kube-repo", version, APT_KEYRING, APT_LIST],
          sudo: true,
          timeoutMs: 10 * 60_000,
        });
        await host.run({
          argv: ["env", "DEBIAN_FRONTEND=noninteractive", "apt-get", "install", "-y", ...KUBE_PACKAGES],
          sudo: true,
          timeoutMs: 15 * 60_000,
        });
        await host.run({ argv: ["systemctl", "enable", "kubelet"], sudo: true });
        changed = true;
      }
      const installed = minorOf((await host.run(kubeadm.versionShort())).stdout);
      if (installed !== version) {
        throw new HactlError(
          "PREFLIGHT_FAILED",
          `kubeadm ${installed ?? "of unknown version"} is installed on ${node}, cluster.yaml asks for ${version}`,
          {
            node,
            remedy: `Set spec.distribution.version to "${installed ?? "?"}" in cluster.yaml, or install kubeadm, kubelet and kubectl ${version} on ${node}.`,
          },
        );
      }
      const owners = await host.exec({ argv: ["sh", "-c", OWNING_PACKAGES, "hactl-owners", ...KUBE_PACKAGES] });
      const fromDpkg = packagedBinaries(owners.stdout, KUBE_PACKAGES);
      if (fromDpkg.length < KUBE_PACKAGES.length) {
        log(
          `${KUBE_PACKAGES.filter((p) => !fromDpkg.includes(p)).join(", ")} in PATH ${fromDpkg.length === 0 ? "are" : "is"} not from the Debian package of that name: not held`,
        );
      }
      if (fromDpkg.length === 0) return changed ? "changed" : "unchanged";
      const held = new Set(
        (await host.exec({ argv: ["apt-mark", "showhold"] })).stdout.split("\n").map((l) => l.trim()),
      );
      const toHold = fromDpkg.filter((p) => !held.has(p));
      if (toHold.length > 0) {
        await host.run({ argv: ["apt-mark", "hold", ...toHold], sudo: true });
        changed = true;
      }
      return changed ? "changed" : "unchanged";
    },
  );
}

/**
 * The packages and images from the offline bundle: uploaded once (a cut upload resumes), checked against
 * its sha256 on the node, unpacked, then installed from the files as the kubeadm driver says. Nothing is fetched.
 */
export function bundleFilesStep(node: string, bundle: LocalBundle): Step {
  return step(
    node,
    "bundle-files",
    `Kubernetes ${bundle.manifest.distribution.release ?? bundle.manifest.distribution.version} packages and images from the offline bundle`,
    filesDescribe(bundle),
    async (host, log) => {
      await installFromBundle(host, bundle, await placeBundle(host, bundle, log));
      return "changed";
    },
  );
}

/**
 * Every host-preparation step for one kubeadm node, in order. With a bundle, its packages and images
 * go on before containerd is configured, so the package steps after it find everything in place.
 */
export function kubeadmHostSteps(node: string, version: string, bundle?: LocalBundle): Step[] {
  return [
    swapOffStep(node),
    modulesStep(node),
    sysctlStep(node),
    ...(bundle ? [bundleFilesStep(node, bundle)] : []),
    containerdStep(node),
    kubePackagesStep(node, version),
  ];
}
