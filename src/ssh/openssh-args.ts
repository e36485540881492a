/**
 * The OpenSSH client's arguments for the connection hactl itself makes to a machine (`hactl ssh`):
 * user, port, identity file, agent use, known_hosts file, host-key policy, connect timeout and the
 * bastion, so a shell opened by hand reaches the node exactly as hactl does. ~/.ssh/config applies to
 * both. Pure: the caller spawns `ssh` with the result.
 */
import { quote } from "./quote.js";

export interface OpenSshHop {
  address: string;
  port: number;
  user: string;
  identityFile?: string | undefined;
}

export interface OpenSshTarget extends OpenSshHop {
  useAgent: boolean;
  /** known_hosts file hactl reads and records keys in (already ~-expanded). */
  knownHostsFile: string;
  connectTimeoutSeconds: number;
  bastion?: OpenSshHop | undefined;
}

/** hactl's host-key policy: ask in a terminal, accept new keys with --accept-new-host-keys, else refuse unknown keys. */
export type HostKeyPolicy = "ask" | "accept-new" | "yes";

/** ssh_config `%` tokens are expanded in ProxyCommand: a literal % is written %%. */
const noTokens = (s: string): string => s.replace(/%/g, "%%");

function hopOptions(hop: OpenSshHop, target: OpenSshTarget, policy: HostKeyPolicy): string[] {
  return [
    "-p",
    String(hop.port),
    "-l",
    hop.user,
    ...(hop.identityFile ? ["-i", hop.identityFile] : []),
    ...(target.useAgent ? [] : ["-o", "IdentityAgent=none", "-o", "IdentitiesOnly=yes"]),
    "-o",
    `UserKnownHostsFile=${target.knownHostsFile}`,
    "-o",
    `StrictHostKeyChecking=${policy}`,
    "-o",
    `ConnectTimeout=${target.connectTimeoutSeconds}`,
  ];
}

/**
 * `ssh` argv (without "ssh") for the target. With a command, its words are passed on as ssh passes
 * them (joined by spaces for the remote shell); `tty` asks for a terminal (for sudo prompts, top, ...).
 */
export function opensshArgs(
  target: OpenSshTarget,
  policy: HostKeyPolicy,
  command: readonly string[],
  tty: boolean,
): string[] {
  const args = hopOptions(target, target, policy);
  if (target.bastion) {
    const jump = ["ssh", ...hopOptions(target.bastion, target, policy), "-W", "%h:%p", "--", target.bastion.address];
    const line = jump.map((w) => (w === "%h:%p" ? w : noTokens(w)));
    args.push("-o", `ProxyCommand=${quote(line)}`);
  }
  if (command.length > 0 && tty) args.push("-t");
  args.push("--", target.address, ...command);
  return args;
}
