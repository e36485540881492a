/**
 * `hactl ssh NODE [-- CMD...]`: a shell (or one command) on a node, through the system's OpenSSH client
 * with the connection settings of cluster.yaml. The system client, not ssh2, because an interactive
 * session needs a real terminal client: raw mode, window resizes, escape sequences, agent and
 * ControlMaster settings of ~/.ssh/config, and the remote exit status, which `ssh` already gets right.
 * Nothing secret passes through hactl: a password login is typed at ssh's own prompt.
 */
import { spawn } from "node:child_process";
import type { RunContext } from "../core/context.js";
import { HactlError } from "../core/errors.js";
import { defaultKnownHostsFile } from "../ssh/known-hosts.js";
import { opensshArgs, type HostKeyPolicy, type OpenSshTarget } from "../ssh/openssh-args.js";
import { expandHome } from "../spec/secrets.js";
import { loadSpecFile } from "../spec/parse.js";
import { effectiveSsh, type ClusterSpec } from "../spec/schema.js";
import { machinesOf } from "./session.js";

export interface SshOptions {
  file: string;
  node: string;
  command: string[];
}

/** The OpenSSH view of a machine's effective ssh settings (the same merge hactl's own connections use). */
export function openSshTarget(spec: ClusterSpec, name: string): OpenSshTarget {
  const machine = machinesOf(spec).find((m) => m.name === name);
  if (!machine) {
    throw new HactlError("USAGE", `${name} is not a node or load-balancer host in cluster.yaml`, {
      remedy: `Use one of: ${machinesOf(spec)
        .map((m) => m.name)
        .join(", ")}.`,
    });
  }
  const s = effectiveSsh(spec, machine);
  const identityFile = s.identityFile ? expandHome(s.identityFile) : undefined;
  return {
    address: machine.address,
    port: s.port,
    user: s.user,
    identityFile,
    useAgent: s.useAgent,
    knownHostsFile: expandHome(s.knownHostsFile ?? defaultKnownHostsFile()),
    connectTimeoutSeconds: s.connectTimeoutSeconds,
    ...(s.bastion
      ? {
          bastion: {
            address: s.bastion.address,
            port: s.bastion.port,
            user: s.bastion.user ?? s.user,
            identityFile: s.bastion.identityFile ? expandHome(s.bastion.identityFile) : identityFile,
          },
        }
      : {}),
  };
}

export function hostKeyPolicy(ctx: Pick<RunContext, "acceptNewHostKeys">, terminal: boolean): HostKeyPolicy {
  if (ctx.acceptNewHostKeys) return "accept-new";
  return terminal ? "ask" : "yes";
}

export async function runSsh(opts: SshOptions, ctx: RunContext): Promise<number> {
  const { spec } = await loadSpecFile(opts.file);
  const target = openSshTarget(spec, opts.node);
  const terminal = Boolean(process.stdin.isTTY && process.stdout.isTTY);
  const args = opensshArgs(target, hostKeyPolicy(ctx, terminal), opts.command, terminal);
  if (effectiveSsh(spec, machinesOf(spec).find((m) => m.name === opts.node) ?? {}).password && terminal) {
    ctx.reporter.info(`${opts.node} logs in with a password: type it at ssh's prompt.`);
  }
  ctx.reporter.log("hactl", `ssh ${args.join(" ")}`);
  return new Promise<number>((resolve, reject) => {
    const child = spawn("ssh", args, { stdio: "inherit" });
    child.on("error", (e) =>
      reject(
        new HactlError("USAGE", "could not start the ssh client", {
          remedy: "Install OpenSSH's client (ssh) and make sure it is on PATH.",
          cause: e,
        }),
      ),
    );
    child.on("exit", (code, signal) => resolve(code ?? (signal === "SIGINT" ? 130 : 255)));
  });
}
