import { need } from "../core/host.js";
import { runs } from "../core/action.js";
import type { Command } from "../core/command.js";
import { actionStep, type Step } from "../core/plan.js";
import type { NodeFacts } from "../gather/facts.js";
import { withHostsBlock } from "./hosts-file.js";

export const NONLOCAL_BIND_FILE = "/etc/sysctl.d/60-hactl-loadbalancer.conf";
const NONLOCAL_BIND = "net.ipv4.ip_nonlocal_bind = 1\n";

export function hostsEntriesStep(node: string, entries: readonly { name: string; address: string }[]): Step {
  return {
    id: `hosts:${node}`,
    node,
    title: "add cluster nodes to /etc/hosts",
    describe: entries.map((e) => `/etc/hosts: ${e.address} ${e.name}`),
    async run(ctx) {
      const host = need(ctx.hosts, node);
      const current = (await host.readFile("/etc/hosts")) ?? "";
      const next = withHostsBlock(current, entries);
      if (next === current) return "unchanged";
      // /etc/hosts is often a bind mount (containers, some provisioners), where a rename over it fails
      // with EBUSY; it is rewritten in place after a backup instead.
      await host.run({
        argv: ["sh", "-c", "cp -p /etc/hosts /etc/hosts.hactl-bak && cat > /etc/hosts"],
        sudo: true,
        stdin: next,
      });
      return "changed";
    },
  };
}

/** haproxy binds the VIP on every control-plane node, also where keepalived does not hold it. */
export function nonlocalBindStep(node: string): Step {
  return {
    id: `sysctl:${node}`,
    node,
    title: "allow binding the VIP (net.ipv4.ip_nonlocal_bind=1)",
    describe: [`write ${NONLOCAL_BIND_FILE}`, "sysctl -w net.ipv4.ip_nonlocal_bind=1"],
    async run(ctx) {
      const host = need(ctx.hosts, node);
      const file = await host.writeFile(NONLOCAL_BIND_FILE, NONLOCAL_BIND, { mode: 0o644, sudo: true });
      const live = await host.exec({ argv: ["sysctl", "-n", "net.ipv4.ip_nonlocal_bind"] });
      if (live.stdout.trim() === "1" && !file.changed) return "unchanged";
      await host.run({ argv: ["sysctl", "-w", "net.ipv4.ip_nonlocal_bind=1"], sudo: true });
      return "changed";
    },
  };
}

/** The distribution's packages, installed without prompts (the dry run shows this command as it runs). */
function aptInstall(pkgs: readonly [string, ...string[]]): Command {
  return {
    argv: ["env", "DEBIAN_FRONTEND=noninteractive", "apt-get", "install", "-y", "--no-install-recommends", ...pkgs],
    sudo: true,
    timeoutMs: 15 * 60_000,
  };
}

/** Installs the packages whose command the gathered facts did not find; no step when none is missing. */
export function packagesStep(
  node: string,
  facts: NodeFacts,
  wanted: readonly { pkg: string; command: string }[],
): Step | undefined {
  const [first, ...rest] = wanted.filter((w) => !facts.commands.has(w.command)).map((m) => m.pkg);
  if (first === undefined) return undefined;
  const pkgs: [string, ...string[]] = [first, ...rest];
  return actionStep({
    id: `packages:${node}`,
    node,
    title: `install ${pkgs.join(", ")}`,
    actions: [runs(aptInstall(pkgs), { uninterruptible: true })],
  });
}
