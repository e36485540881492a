/**
 * The one place where ssh2, socket and sudo failures become HactlErrors. Everything above the SSH layer
 * sees only codes, node names and remedies; nothing else inspects error text.
 */
import { HactlError } from "../core/errors.js";
import type { ExecResult } from "../core/command.js";
import { redact } from "../core/secrets.js";
import { defaultKnownHostsFile, hostKeyName, type HostKeyCheck } from "./known-hosts.js";
import { describeArgv, quoteArg } from "./quote.js";

/** Who we were talking to when something failed. */
export interface ConnectContext {
  readonly node: string;
  readonly address: string;
  readonly port: number;
  readonly user: string;
  readonly timeoutMs: number;
  /** The jump host's label when the connection goes through one. */
  readonly via?: string;
  /** Authentication methods tried, for the auth-failure details. */
  readonly methods?: readonly string[];
}

interface ErrorShape {
  readonly message: string;
  readonly level?: unknown;
  readonly code?: unknown;
}

function shape(err: unknown): ErrorShape {
  if (err instanceof Error) {
    const rec = err as Error & { level?: unknown; code?: unknown };
    return { message: err.message, level: rec.level, code: rec.code };
  }
  return { message: String(err) };
}

function duration(ms: number): string {
  return ms < 1000 ? `${ms}ms` : `${Math.round(ms / 100) / 10}s`;
}

function where(ctx: ConnectContext): string {
  const via = ctx.via ? ` via ${ctx.via}` : "";
  return `${ctx.node} (${ctx.user}@${ctx.address}:${ctx.port}${via})`;
}

function sshCommand(ctx: ConnectContext): string {
  const port = ctx.port === 22 ? "" : ` -p ${ctx.port}`;
  return `ssh${port} ${quoteArg(`${ctx.user}@${ctx.address}`)} true`;
}

const UNREACHABLE = new Set(["EHOSTUNREACH", "ENETUNREACH", "EHOSTDOWN", "ENETDOWN", "EADDRNOTAVAIL"]);
const DISCONNECTED = new Set(["ECONNRESET", "EPIPE", "ECONNABORTED"]);
const NAME_LOOKUP = new Set(["ENOTFOUND", "EAI_AGAIN", "EAI_NONAME"]);

/** Map a failure while connecting (socket, handshake, authentication) to a code with a remedy. */
export function classifyConnectError(err: unknown, ctx: ConnectContext): HactlError {
  if (err instanceof HactlError) return err;
  const e = shape(err);
  const code = typeof e.code === "string" ? e.code : undefined;
  const base = { node: ctx.node, cause: err };
  if (code === "ECONNREFUSED") {
    return new HactlError("SSH_REFUSED", `connection refused by ${where(ctx)}: nothing listens on port ${ctx.port}`, {
      ...base,
      retryable: true,
      remedy: `Start sshd on ${ctx.node} (systemctl start ssh) or correct the port in spec.ssh.port / the node's ssh.port.`,
    });
  }
  if (code !== undefined && UNREACHABLE.has(code)) {
    return new HactlError("SSH_UNREACHABLE", `${where(ctx)} is unreachable (${code})`, {
      ...base,
      retryable: true,
      remedy: `Check that ${ctx.node} is powered on and that its address ${ctx.address} in cluster.yaml is right and routable from here.`,
    });
  }
  if (code !== undefined && NAME_LOOKUP.has(code)) {
    return new HactlError("SSH_UNREACHABLE", `cannot resolve the address of ${where(ctx)} (${code})`, {
      ...base,
      remedy: `Use an IP address or a resolvable name for ${ctx.node} in cluster.yaml (spec.nodes[].address).`,
    });
  }
  if (code === "ETIMEDOUT" || e.level === "client-timeout") return connectTimeoutError(ctx, err);
  if (e.level === "client-authentication") {
    const tried = ctx.methods && ctx.methods.length > 0 ? ctx.methods.join(", ") : "none available";
    return new HactlError("SSH_AUTH_FAILED", `authentication as ${ctx.user} failed on ${where(ctx)}`, {
      ...base,
      details: `methods tried: ${tried}`,
      remedy: `Check spec.ssh.user / identityFile (or the node's ssh override) and that the key is in ~${ctx.user}/.ssh/authorized_keys; reproduce with: ${sshCommand(ctx)}`,
    });
  }
  if ((code !== undefined && DISCONNECTED.has(code)) || e.level === "client-socket" || e.level === "protocol") {
    return new HactlError("SSH_DISCONNECTED", `connection to ${where(ctx)} was closed: ${redact(e.message)}`, {
      ...base,
      retryable: true,
      remedy: `Run the command again; if it repeats, look at sshd's log on ${ctx.node} (journalctl -u ssh) for the reason.`,
    });
  }
  return new HactlError("SSH_DISCONNECTED", `SSH to ${where(ctx)} failed: ${redact(e.message)}`, {
    ...base,
    remedy: `Reproduce with: ${sshCommand(ctx)} -v, and compare with spec.ssh in cluster.yaml.`,
  });
}

/** Connect, handshake and authentication did not finish within the connect timeout. */
export function connectTimeoutError(ctx: ConnectContext, cause?: unknown): HactlError {
  return new HactlError("SSH_TIMEOUT", `no SSH session with ${where(ctx)} within ${duration(ctx.timeoutMs)}`, {
    node: ctx.node,
    retryable: true,
    cause,
    remedy: `Check that ${ctx.node} is up and port ${ctx.port} is open from here (${sshCommand(ctx)}); on slow links raise spec.ssh.connectTimeoutSeconds.`,
  });
}

/** The jump host could not open a tunnel to the node. */
export function jumpForwardError(ctx: ConnectContext, err: unknown): HactlError {
  return new HactlError(
    "SSH_UNREACHABLE",
    `the jump host ${ctx.via ?? "?"} could not reach ${ctx.node} (${ctx.address}:${ctx.port}): ${redact(shape(err).message)}`,
    {
      node: ctx.node,
      retryable: true,
      cause: err,
      remedy: `Check from the jump host that ${ctx.address}:${ctx.port} accepts connections, and that its sshd allows TCP forwarding (AllowTcpForwarding).`,
    },
  );
}

/** `ssh-keygen -R` lines that remove the recorded key(s), with `-f` for any file but the default one. */
export function keygenRemoveCommands(address: string, port: number, files: readonly string[]): string[] {
  const name = quoteArg(hostKeyName(address, port));
  const unique = files.length > 0 ? [...new Set(files)] : [defaultKnownHostsFile()];
  return unique.map((f) =>
    f === defaultKnownHostsFile() ? `ssh-keygen -R ${name}` : `ssh-keygen -R ${name} -f ${quoteArg(f)}`,
  );
}

export interface PresentedKey {
  readonly keyType: string;
  readonly fingerprint: string;
}

/** The server's key differs from the recorded one: refuse, always. */
export function hostKeyChangedError(ctx: ConnectContext, key: PresentedKey, check: HostKeyCheck): HactlError {
  const files = check.sameType.map((e) => e.file);
  const lines = check.sameType.map((e) => `${e.file}:${e.line}`).join(", ");
  const commands = keygenRemoveCommands(ctx.address, ctx.port, files);
  return new HactlError(
    "SSH_HOST_KEY_CHANGED",
    `the host key of ${where(ctx)} has CHANGED: it presented ${key.keyType} ${key.fingerprint}, which does not match ${lines}. ` +
      "This may be a man-in-the-middle attack; it is also what a reinstalled node looks like. Nothing was run on the node.",
    {
      node: ctx.node,
      remedy: `Confirm with the node's console that ${key.fingerprint} is its real key, then remove the old one: ${commands.join(" && ")} and run again.`,
    },
  );
}

export function hostKeyRevokedError(ctx: ConnectContext, key: PresentedKey, check: HostKeyCheck): HactlError {
  return new HactlError(
    "SSH_HOST_KEY_CHANGED",
    `the host key of ${where(ctx)} (${key.keyType} ${key.fingerprint}) is marked @revoked in known_hosts; refusing to connect`,
    {
      node: ctx.node,
      remedy: `Give ${ctx.node} a new host key (ssh-keygen -A on the node after removing the old one), then accept the new key; check ${check.sameType[0]?.file ?? defaultKnownHostsFile()}.`,
    },
  );
}

export function hostKeyUnknownError(
  ctx: ConnectContext,
  key: PresentedKey,
  check: HostKeyCheck,
  file: string,
): HactlError {
  const ca = check.onlyCertAuthority
    ? " known_hosts vouches for it only through @cert-authority, and hactl cannot check host certificates."
    : "";
  return new HactlError(
    "SSH_HOST_KEY_UNKNOWN",
    `the host key of ${where(ctx)} is not known: ${key.keyType} ${key.fingerprint}.${ca}`,
    {
      node: ctx.node,
      remedy:
        `Check the fingerprint on the node (ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub), then either run interactively to confirm it, ` +
        `pass --accept-new-host-keys to record it in ${file}, or add it yourself (ssh-keyscan -p ${ctx.port} ${ctx.address} >> ${file}).`,
    },
  );
}

/** The last `lines` lines of stderr, redacted; what COMMAND_FAILED shows. */
export function stderrTail(stderr: string, lines = 20): string {
  const all = stderr.replace(/\s+$/, "").split("\n");
  return redact(all.slice(-lines).join("\n"));
}

export function commandFailedError(node: string, argv: readonly string[], result: ExecResult): HactlError {
  const what = redact(describeArgv(argv));
  const tail = stderrTail(result.stderr.length > 0 ? result.stderr : result.stdout);
  return new HactlError("COMMAND_FAILED", `${what} exited with code ${result.code} on ${node}`, {
    node,
    details: tail.length > 0 ? tail : undefined,
    remedy: `Read the output above; to reproduce, run the command on ${node} by hand.`,
  });
}

export function commandTimeoutError(node: string, argv: readonly string[], timeoutMs: number): HactlError {
  return new HactlError(
    "COMMAND_TIMEOUT",
    `${redact(describeArgv(argv))} did not finish within ${duration(timeoutMs)} on ${node}`,
    {
      node,
      retryable: true,
      remedy: `Check what ${node} is waiting for (load, network, a lock held by another process), then run again.`,
    },
  );
}

export function commandAbortedError(node: string, argv: readonly string[]): HactlError {
  return new HactlError("INTERRUPTED", `${redact(describeArgv(argv))} on ${node} was interrupted`, { node });
}

/** A channel could not be opened or broke while a command ran. */
export function channelError(node: string, argv: readonly string[], err: unknown): HactlError {
  if (err instanceof HactlError) return err;
  return new HactlError(
    "SSH_DISCONNECTED",
    `lost the SSH channel to ${node} while running ${redact(describeArgv(argv))}: ${redact(shape(err).message)}`,
    {
      node,
      retryable: true,
      remedy: `Run again; if it repeats, check sshd's log on ${node} (MaxSessions, or the connection dropped).`,
      cause: err,
    },
  );
}

/** sudo refused before the command ran; `stderr` is what sudo printed. */
export function sudoError(node: string, user: string, stderr: string, hadPassword: boolean): HactlError {
  const text = stderr.toLowerCase();
  const said = stderr
    .split("\n")
    .filter((l) => l.trim() !== "")
    .join("\n");
  const details = stderrTail(said, 5) || undefined;
  if (/password is required|terminal is required|no tty present|askpass/.test(text)) {
    return new HactlError("SUDO_NEEDS_PASSWORD", `sudo on ${node} needs a password for ${user}`, {
      node,
      details,
      remedy: `Set spec.ssh.sudoPassword (e.g. { env: HACTL_SUDO_PASSWORD }) or give ${user} passwordless sudo on ${node}: echo '${user} ALL=(ALL) NOPASSWD: ALL' > /etc/sudoers.d/hactl`,
    });
  }
  if (/incorrect password|sorry, try again/.test(text) || (hadPassword && text.includes("password"))) {
    return new HactlError("SUDO_FAILED", `sudo on ${node} rejected the password for ${user}`, {
      node,
      details,
      remedy: `Check the secret that spec.ssh.sudoPassword points to (it must be ${user}'s login password on ${node}).`,
    });
  }
  return new HactlError("SUDO_FAILED", `sudo on ${node} refused to run commands as root for ${user}`, {
    node,
    details,
    remedy: `Give ${user} sudo rights on ${node} (a file in /etc/sudoers.d/), or connect as root (spec.ssh.user).`,
  });
}

/** An identity file that needs a passphrase nobody supplied. */
export function passphraseMissingError(node: string, file: string): HactlError {
  return new HactlError(
    "SSH_AUTH_FAILED",
    `the identity file ${file} for ${node} is encrypted and no passphrase was given`,
    {
      node,
      remedy: `Set spec.ssh.passphrase (e.g. { env: HACTL_SSH_PASSPHRASE }), load the key into ssh-agent (ssh-add ${file}), or run interactively to be asked.`,
    },
  );
}

export function identityUnreadableError(node: string, file: string, err: unknown): HactlError {
  return new HactlError(
    "SSH_AUTH_FAILED",
    `cannot use the identity file ${file} for ${node}: ${redact(shape(err).message)}`,
    {
      node,
      remedy: `Check spec.ssh.identityFile (or the node's ssh.identityFile): the file must be a private key readable by you.`,
      cause: err,
    },
  );
}

/** ssh2's parseKey reports an encrypted key without passphrase (or a wrong one) with these messages. */
export function isPassphraseProblem(err: Error): boolean {
  return /passphrase|encrypted|bad decrypt/i.test(err.message);
}
