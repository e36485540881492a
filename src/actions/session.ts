import { HactlError, MultiNodeError } from "../core/errors.js";
import type { Command } from "../core/command.js";
import type { RemoteHost } from "../core/host.js";
import type { RunContext } from "../core/context.js";
import { effectiveSsh, type ClusterSpec, type SecretRef, type SshOverride } from "../spec/schema.js";
import { describeSecretRef, expandHome, resolveSecret } from "../spec/secrets.js";
import type { SshTarget } from "../ssh/connect.js";

/** A machine hactl reaches over SSH: a cluster node or an external load-balancer host. */
export interface Machine {
  readonly name: string;
  readonly address: string;
  readonly ssh?: SshOverride | undefined;
}

export interface Session {
  readonly hosts: Map<string, RemoteHost>;
  /** Machines that could not be reached (only with tolerateUnreachable). */
  readonly unreachable: HactlError[];
  close(): Promise<void>;
}

/** Every machine of the spec: nodes first, then external LB hosts. */
export function machinesOf(spec: ClusterSpec): Machine[] {
  return [...spec.spec.nodes, ...(spec.spec.loadBalancer.external?.hosts ?? [])];
}

async function secretOf(ref: SecretRef | undefined, label: string, ctx: RunContext): Promise<string | undefined> {
  if (!ref) return undefined;
  const { secret } = await import("../ui/prompts.js");
  return resolveSecret(ref, { interactive: ctx.interactive, prompt: secret, label });
}

/**
 * With `installKey` the password is only for the first login, before the key is in authorized_keys: a
 * password that is not given (variable unset, file gone) is left out without asking, and keys are tried.
 */
async function passwordIfGiven(
  ref: SecretRef | undefined,
  label: string,
  machine: string,
  ctx: RunContext,
): Promise<string | undefined> {
  if (!ref) return undefined;
  try {
    return await resolveSecret(ref, { interactive: false, label });
  } catch (err) {
    if (!(err instanceof HactlError) || err.code !== "SECRET_UNRESOLVED") throw err;
    ctx.reporter.log(
      machine,
      `${label} is not given (${describeSecretRef(ref)}); logging in with keys only (ssh.installKey is set)`,
    );
    return undefined;
  }
}

/** The SSH target for one machine: its override merged over spec.ssh, secrets resolved now. */
export async function targetFor(spec: ClusterSpec, machine: Machine, ctx: RunContext): Promise<SshTarget> {
  const s = effectiveSsh(spec, machine);
  const label = `ssh settings of ${machine.name}`;
  const [passphrase, password, sudoPassword] = await Promise.all([
    secretOf(s.passphrase, `${label}: passphrase`, ctx),
    s.installKey
      ? passwordIfGiven(s.password, `${label}: password`, machine.name, ctx)
      : secretOf(s.password, `${label}: password`, ctx),
    secretOf(s.sudoPassword, `${label}: sudoPassword`, ctx),
  ]);
  return {
    name: machine.name,
    address: machine.address,
    port: s.port,
    user: s.user,
    useAgent: s.useAgent,
    ...(s.identityFile ? { identityFile: expandHome(s.identityFile) } : {}),
    ...(s.knownHostsFile ? { knownHostsFile: expandHome(s.knownHostsFile) } : {}),
    ...(passphrase ? { passphrase } : {}),
    ...(password ? { password } : {}),
    ...(sudoPassword ? { sudoPassword } : {}),
    ...(s.bastion
      ? {
          jump: {
            name: `${machine.name}-bastion`,
            address: s.bastion.address,
            port: s.bastion.port,
            user: s.bastion.user ?? s.user,
            ...(s.bastion.identityFile
              ? { identityFile: expandHome(s.bastion.identityFile) }
              : s.identityFile
                ? { identityFile: expandHome(s.identityFile) }
                : {}),
            ...(s.knownHostsFile ? { knownHostsFile: expandHome(s.knownHostsFile) } : {}),
          },
        }
      : {}),
  };
}

/**
 * One SSH connection per machine, opened in parallel. All or nothing by default; read-only commands
 * (status) pass tolerateUnreachable and report the machines they could not reach.
 */
export async function openSession(
  spec: ClusterSpec,
  machines: readonly Machine[],
  ctx: RunContext,
  opts: { tolerateUnreachable?: boolean } = {},
): Promise<Session> {
  const targets: SshTarget[] = [];
  for (const m of machines) targets.push(await targetFor(spec, m, ctx));
  const { connectEach } = await import("../ssh/connect.js");
  const { confirm } = await import("../ui/prompts.js");
  ctx.reporter.phase(`Connect to ${machines.length} machines`);
  const { hosts, failures } = await connectEach(targets, {
    interactive: ctx.interactive,
    acceptNewHostKeys: ctx.acceptNewHostKeys,
    confirmHostKey: (node, fp, type) =>
      ctx.reporter.pause(() =>
        confirm(`${node}: unknown ${type} host key ${fp}. Trust it and record it in known_hosts?`),
      ),
    promptPassphrase: async (file) =>
      ctx.reporter.pause(async () => (await import("../ui/prompts.js")).secret(`Passphrase for ${file}`)),
    connectTimeoutMs: (effectiveSsh(spec, {}).connectTimeoutSeconds ?? 10) * 1000,
    keepaliveIntervalMs: 10_000,
    log: (node, line) => ctx.reporter.log(node, line),
    signal: ctx.signal,
  });
  for (const m of machines) {
    const failed = failures.find((f) => f.node === m.name);
    ctx.reporter.step(
      m.name,
      failed ? `not reachable: ${failed.message}` : `connected to ${m.address}`,
      failed ? "failed" : "done",
    );
  }
  if (failures.length > 0 && !opts.tolerateUnreachable) {
    ctx.reporter.endPhase(false, `${failures.length} of ${machines.length} not reachable`);
    await Promise.all([...hosts.values()].map((h) => h.close()));
    throw failures.length === 1 ? (failures[0] as HactlError) : new MultiNodeError("connect", failures);
  }
  if (ctx.commandTimeoutMs) for (const [name, host] of hosts) hosts.set(name, capTimeouts(host, ctx.commandTimeoutMs));
  return {
    hosts,
    unreachable: failures,
    async close() {
      await Promise.all([...hosts.values()].map((h) => h.close()));
    },
  };
}

/** The same host, but no command may run longer than `capMs` (a hung node fails its step, not the run). */
export function capTimeouts(host: RemoteHost, capMs: number): RemoteHost {
  const cap = (c: Command): Command => ({ ...c, timeoutMs: Math.min(c.timeoutMs ?? capMs, capMs) });
  return {
    name: host.name,
    address: host.address,
    get commandCount() {
      return host.commandCount;
    },
    exec: (c, o) => host.exec(cap(c), o),
    run: (c, o) => host.run(cap(c), o),
    writeFile: (p, content, o) => host.writeFile(p, content, o),
    readFile: (p, o) => host.readFile(p, o),
    download: (p) => host.download(p),
    putFile: (l, r) => host.putFile(l, r),
    close: () => host.close(),
  };
}

/** The control-plane node that holds the cluster lock and the remote journal: the first one connected. */
export function lockNode(spec: ClusterSpec, session: Session): string {
  const first = spec.spec.nodes.find((n) => n.role === "control-plane" && session.hosts.has(n.name));
  if (!first) throw new HactlError("INTERNAL", "no connected control-plane node to hold the cluster lock");
  return first.name;
}
