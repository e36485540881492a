/**
 * Opening SSH connections: ~/.ssh/config values, authentication (agent, identity files, password),
 * host-key verification against known_hosts, jump hosts, and connect timeouts. ssh2 is imported lazily
 * so that commands which never connect (`hactl --help`) do not pay for loading it.
 */
import { readFile } from "node:fs/promises";
import { homedir } from "node:os";
import { join } from "node:path";
import type { Readable } from "node:stream";
import type { AnyAuthMethod, Client, ServerHostKeyAlgorithm } from "ssh2";
import { HactlError, MultiNodeError, asHactlError } from "../core/errors.js";
import type { RemoteHost } from "../core/host.js";
import { registerSecret } from "../core/secrets.js";
import {
  classifyConnectError,
  connectTimeoutError,
  hostKeyChangedError,
  hostKeyRevokedError,
  hostKeyUnknownError,
  identityUnreadableError,
  isPassphraseProblem,
  jumpForwardError,
  passphraseMissingError,
  type ConnectContext,
} from "./classify.js";
import { GLOBAL_KNOWN_HOSTS_FILE, KnownHosts, defaultKnownHostsFile, fingerprint, keyTypeOf } from "./known-hosts.js";
import { loadSshConfig, parseProxyJump, resolveSshConfig, type SshConfigBlock } from "./ssh-config.js";
import { Ssh2Host, endClient } from "./ssh2-host.js";

/** Where and how to reach one node. Secrets are already resolved (spec SecretRefs → strings). */
export interface SshTarget {
  /** The node's name in cluster.yaml (used in every message). */
  readonly name: string;
  /** Address or host name; a `Host` alias in ~/.ssh/config is resolved through its HostName. */
  readonly address: string;
  /** Unset: ~/.ssh/config's Port, then 22. */
  readonly port?: number;
  /** Unset: ~/.ssh/config's User, then root. */
  readonly user?: string;
  /** Private key file; unset: ~/.ssh/config IdentityFile, then ~/.ssh/id_ed25519, id_ecdsa, id_rsa. */
  readonly identityFile?: string;
  readonly passphrase?: string;
  readonly password?: string;
  readonly sudoPassword?: string;
  /** Use ssh-agent (SSH_AUTH_SOCK) when available; default true. */
  readonly useAgent?: boolean;
  /** Bastion to tunnel through; overrides ~/.ssh/config ProxyJump. */
  readonly jump?: SshTarget;
  /** known_hosts file read first and appended to for accepted keys; default ~/.ssh/known_hosts. */
  readonly knownHostsFile?: string;
}

export interface ConnectOptions {
  /** A human can answer questions (host key confirmation, passphrases). */
  readonly interactive: boolean;
  /** Record unknown host keys without asking (`--accept-new-host-keys`); a changed key is still refused. */
  readonly acceptNewHostKeys: boolean;
  /** Asked in interactive runs when a host key is unknown; true accepts and records it. */
  readonly confirmHostKey?: (node: string, fingerprint: string, keyType: string) => Promise<boolean>;
  /** Asked in interactive runs for an encrypted identity file. */
  readonly promptPassphrase?: (file: string) => Promise<string>;
  /** Deadline for TCP connect + handshake + authentication (time spent in prompts does not count). */
  readonly connectTimeoutMs: number;
  /** SSH-level keepalive interval; 0 disables. */
  readonly keepaliveIntervalMs: number;
  /** Per-node diagnostic lines (already redacted). */
  readonly log?: (node: string, line: string) => void;
  readonly signal?: AbortSignal;
  /** connectAll: close every connection and fail when any node fails (default true). */
  readonly allOrNothing?: boolean;
  /** ssh config file to read; false skips it. Default ~/.ssh/config. */
  readonly sshConfigFile?: string | false;
  /** Read exactly these known_hosts files (plus the target's own) instead of ~/.ssh/known_hosts and /etc/ssh/ssh_known_hosts. */
  readonly knownHostsFiles?: readonly string[];
}

const DEFAULT_IDENTITIES = ["id_ed25519", "id_ecdsa", "id_rsa"];
const MAX_JUMP_DEPTH = 5;

type Ssh2Module = typeof import("ssh2");

let ssh2Module: Promise<Ssh2Module> | undefined;
function loadSsh2(): Promise<Ssh2Module> {
  ssh2Module ??= import("ssh2").then((m) => m.default);
  return ssh2Module;
}

/** `~` and `~/...` in a path given in cluster.yaml, as OpenSSH expands them. */
export function expandHome(path: string): string {
  if (path === "~") return homedir();
  return path.startsWith("~/") ? join(homedir(), path.slice(2)) : path;
}

interface Resolved {
  readonly target: SshTarget;
  readonly address: string;
  readonly port: number;
  readonly user: string;
  readonly identityFiles: readonly string[];
  readonly explicitIdentity: boolean;
  readonly jump: SshTarget | undefined;
  readonly knownHostsFile: string;
}

function resolveTarget(target: SshTarget, config: readonly SshConfigBlock[]): Resolved {
  const values = resolveSshConfig(config, target.address);
  const identity = target.identityFile ?? values.identityFiles[0];
  const knownHostsFile = expandHome(target.knownHostsFile ?? defaultKnownHostsFile());
  let jump = target.jump;
  if (jump === undefined && values.proxyJump !== undefined) {
    const hops = parseProxyJump(values.proxyJump);
    for (const hop of hops) {
      jump = {
        name: `${target.name} jump host ${hop.host}`,
        address: hop.host,
        ...(hop.port !== undefined ? { port: hop.port } : {}),
        ...(hop.user !== undefined ? { user: hop.user } : {}),
        knownHostsFile,
        ...(target.useAgent !== undefined ? { useAgent: target.useAgent } : {}),
        ...(jump ? { jump } : {}),
      };
    }
  }
  const files = target.identityFile
    ? [target.identityFile]
    : values.identityFiles.length > 0
      ? values.identityFiles
      : DEFAULT_IDENTITIES.map((f) => join(homedir(), ".ssh", f));
  return {
    target,
    address: values.hostName ?? target.address,
    port: target.port ?? values.port ?? 22,
    user: target.user ?? values.user ?? "root",
    identityFiles: files.map(expandHome),
    explicitIdentity: identity !== undefined,
    jump,
    knownHostsFile,
  };
}

interface Auth {
  readonly methods: AnyAuthMethod[];
  readonly labels: string[];
}

async function buildAuth(r: Resolved, opts: ConnectOptions, ssh2: Ssh2Module): Promise<Auth> {
  const methods: AnyAuthMethod[] = [];
  const labels: string[] = [];
  const agent = process.env.SSH_AUTH_SOCK;
  const useAgent = r.target.useAgent !== false && agent !== undefined && agent !== "";
  if (useAgent) {
    methods.push({ type: "agent", username: r.user, agent });
    labels.push("ssh-agent");
  }
  registerSecret(r.target.passphrase);
  registerSecret(r.target.password);
  for (const file of r.identityFiles) {
    let data: Buffer;
    try {
      data = await readFile(file);
    } catch (err) {
      if (r.explicitIdentity) throw identityUnreadableError(r.target.name, file, err);
      continue;
    }
    let key = ssh2.utils.parseKey(data, r.target.passphrase);
    if (key instanceof Error && isPassphraseProblem(key) && r.target.passphrase === undefined) {
      if (opts.interactive && opts.promptPassphrase && !(useAgent && !r.explicitIdentity)) {
        const passphrase = await opts.promptPassphrase(file);
        registerSecret(passphrase);
        key = ssh2.utils.parseKey(data, passphrase);
      } else if (r.explicitIdentity) {
        throw passphraseMissingError(r.target.name, file);
      } else {
        opts.log?.(r.target.name, `skipping ${file}: it is encrypted and no passphrase was given`);
        continue;
      }
    }
    if (key instanceof Error) {
      if (r.explicitIdentity) throw identityUnreadableError(r.target.name, file, key);
      opts.log?.(r.target.name, `skipping ${file}: ${key.message}`);
      continue;
    }
    methods.push({ type: "publickey", username: r.user, key });
    labels.push(`key ${file}`);
  }
  if (r.target.password !== undefined) {
    methods.push({ type: "password", username: r.user, password: r.target.password });
    labels.push("password");
  }
  return { methods, labels };
}

/** Algorithms to offer first: the types already recorded for this host, so its key can be checked. */
export function preferredHostKeyAlgorithms(knownTypes: readonly string[]): ServerHostKeyAlgorithm[] {
  const out: ServerHostKeyAlgorithm[] = [];
  for (const type of knownTypes) {
    switch (type) {
      case "ssh-ed25519":
      case "ecdsa-sha2-nistp256":
      case "ecdsa-sha2-nistp384":
      case "ecdsa-sha2-nistp521":
        out.push(type);
        break;
      case "ssh-rsa":
        out.push("rsa-sha2-512", "rsa-sha2-256", "ssh-rsa");
        break;
      default:
        break;
    }
  }
  return [...new Set(out)];
}

function knownHostsFilesFor(r: Resolved, opts: ConnectOptions): string[] {
  const rest = opts.knownHostsFiles ?? [defaultKnownHostsFile(), GLOBAL_KNOWN_HOSTS_FILE];
  return [r.knownHostsFile, ...rest.map(expandHome)];
}

function forwardOut(jump: Client, address: string, port: number): Promise<Readable> {
  return new Promise((resolve, reject) => {
    jump.forwardOut("127.0.0.1", 0, address, port, (err, stream) => (err ? reject(err) : resolve(stream)));
  });
}

interface Opened {
  readonly client: Client;
  readonly resolved: Resolved;
  /** Ends this client, then its jump host. */
  close(): Promise<void>;
  /** Ends only the jump host (the client's owner ended the client itself). */
  closeJump(): Promise<void>;
}

async function openClient(
  target: SshTarget,
  opts: ConnectOptions,
  config: readonly SshConfigBlock[],
  depth: number,
): Promise<Opened> {
  if (depth > MAX_JUMP_DEPTH) {
    throw new HactlError("USAGE", `more than ${MAX_JUMP_DEPTH} jump hosts in a row for ${target.name}`, {
      node: target.name,
      remedy: "Check ProxyJump in ~/.ssh/config and spec.ssh.bastion for a loop.",
    });
  }
  opts.signal?.throwIfAborted();
  const r = resolveTarget(target, config);
  const ssh2 = await loadSsh2();
  const known = await KnownHosts.load(knownHostsFilesFor(r, opts));
  const auth = await buildAuth(r, opts, ssh2);
  let jump: Opened | undefined;
  let sock: Readable | undefined;
  if (r.jump) {
    jump = await openClient(r.jump, opts, config, depth + 1);
    try {
      sock = await forwardOut(jump.client, r.address, r.port);
    } catch (err) {
      await jump.close();
      throw jumpForwardError(ctxOf(r, opts, auth, jump), err);
    }
  }
  const ctx = ctxOf(r, opts, auth, jump);
  try {
    const client = await handshake(ssh2, r, ctx, known, auth, opts, sock);
    const jumpRef = jump;
    // A client that is gone already (its server dropped it) emits no second "close" to wait for.
    let gone = false;
    client.once("close", () => {
      gone = true;
    });
    return {
      client,
      resolved: r,
      closeJump: async () => {
        await jumpRef?.close();
      },
      close: async () => {
        if (!gone) await endClient(client);
        await jumpRef?.close();
      },
    };
  } catch (err) {
    await jump?.close();
    throw err;
  }
}

function ctxOf(r: Resolved, opts: ConnectOptions, auth: Auth, jump: Opened | undefined): ConnectContext {
  return {
    node: r.target.name,
    address: r.address,
    port: r.port,
    user: r.user,
    timeoutMs: opts.connectTimeoutMs,
    methods: auth.labels,
    ...(jump ? { via: `${jump.resolved.user}@${jump.resolved.address}:${jump.resolved.port}` } : {}),
  };
}

function handshake(
  ssh2: Ssh2Module,
  r: Resolved,
  ctx: ConnectContext,
  known: KnownHosts,
  auth: Auth,
  opts: ConnectOptions,
  sock: Readable | undefined,
): Promise<Client> {
  const client = new ssh2.Client();
  const log = (line: string): void => opts.log?.(r.target.name, line);
  return new Promise<Client>((resolve, reject) => {
    let settled = false;
    let hostKeyFailure: HactlError | undefined;
    let timer: NodeJS.Timeout | undefined;
    let deadline = opts.connectTimeoutMs;
    let startedAt = Date.now();

    const fail = (error: HactlError): void => {
      if (settled) return;
      settled = true;
      if (timer) clearTimeout(timer);
      opts.signal?.removeEventListener("abort", onAbort);
      client.destroy();
      reject(error);
    };
    const armTimer = (): void => {
      startedAt = Date.now();
      timer = setTimeout(() => fail(connectTimeoutError(ctx)), Math.max(deadline, 1));
    };
    const pauseTimer = (): void => {
      if (timer) clearTimeout(timer);
      deadline -= Date.now() - startedAt;
    };
    const onAbort = (): void =>
      fail(new HactlError("INTERRUPTED", `connecting to ${r.target.name} was interrupted`, { node: r.target.name }));

    const accept = async (key: Buffer): Promise<boolean> => {
      const check = known.verify(r.address, r.port, key);
      const presented = { keyType: keyTypeOf(key), fingerprint: fingerprint(key) };
      if (check.verdict === "match") return true;
      if (check.verdict === "revoked") {
        hostKeyFailure = hostKeyRevokedError(ctx, presented, check);
        return false;
      }
      if (check.verdict === "mismatch") {
        hostKeyFailure = hostKeyChangedError(ctx, presented, check);
        return false;
      }
      let ok = opts.acceptNewHostKeys;
      if (!ok && opts.interactive && opts.confirmHostKey) {
        pauseTimer();
        try {
          ok = await opts.confirmHostKey(r.target.name, presented.fingerprint, presented.keyType);
        } finally {
          if (!settled) armTimer();
        }
        if (!ok) {
          hostKeyFailure = new HactlError("USER_ABORTED", `the host key of ${r.target.name} was not accepted`, {
            node: r.target.name,
            remedy: `Check the fingerprint ${presented.fingerprint} on ${r.target.name}'s console, then run again and accept it.`,
          });
          return false;
        }
      }
      if (!ok) {
        hostKeyFailure = hostKeyUnknownError(ctx, presented, check, r.knownHostsFile);
        return false;
      }
      try {
        await known.append(r.knownHostsFile, r.address, r.port, key);
      } catch (err) {
        hostKeyFailure = new HactlError(
          "SSH_HOST_KEY_UNKNOWN",
          `could not record the host key of ${r.target.name} in ${r.knownHostsFile}: ${(err as Error).message}`,
          {
            node: r.target.name,
            cause: err,
            remedy: `Make ${r.knownHostsFile} writable, or point spec.ssh.knownHostsFile at a file you can write.`,
          },
        );
        return false;
      }
      log(`recorded ${presented.keyType} ${presented.fingerprint} for ${r.address} in ${r.knownHostsFile}`);
      return true;
    };

    client.on("ready", () => {
      if (settled) return;
      settled = true;
      if (timer) clearTimeout(timer);
      opts.signal?.removeEventListener("abort", onAbort);
      client.setNoDelay(true);
      log(`connected to ${r.user}@${r.address}:${r.port}${ctx.via ? ` via ${ctx.via}` : ""}`);
      resolve(client);
    });
    client.on("error", (err: Error) => fail(hostKeyFailure ?? classifyConnectError(err, ctx)));
    client.on("close", () =>
      fail(
        hostKeyFailure ??
          classifyConnectError(
            Object.assign(new Error("connection closed during handshake"), { level: "client-socket" }),
            ctx,
          ),
      ),
    );

    if (opts.signal?.aborted) {
      onAbort();
      return;
    }
    opts.signal?.addEventListener("abort", onAbort, { once: true });
    armTimer();
    const prefer = preferredHostKeyAlgorithms(known.knownKeyTypes(r.address, r.port));
    try {
      client.connect({
        host: r.address,
        port: r.port,
        username: r.user,
        ...(sock ? { sock } : {}),
        readyTimeout: 0,
        keepaliveInterval: opts.keepaliveIntervalMs,
        keepaliveCountMax: 3,
        authHandler: auth.methods,
        ...(prefer.length > 0 ? { algorithms: { serverHostKey: { prepend: prefer, append: [], remove: [] } } } : {}),
        hostVerifier: (key: Buffer, verify: (valid: boolean) => void): void => {
          accept(key).then(verify, (err: unknown) => {
            hostKeyFailure = asHactlError(err);
            verify(false);
          });
        },
      });
    } catch (err) {
      fail(classifyConnectError(err, ctx));
    }
  });
}

/** Connect to one node; the returned host owns the connection (and its jump host) until close(). */
export async function connectNode(target: SshTarget, opts: ConnectOptions): Promise<RemoteHost> {
  registerSecret(target.sudoPassword);
  const config =
    opts.sshConfigFile === false
      ? []
      : await loadSshConfig(opts.sshConfigFile ? expandHome(opts.sshConfigFile) : undefined);
  const opened = await openClient(target, opts, config, 0);
  const { client, resolved } = opened;
  return new Ssh2Host(client, {
    name: target.name,
    address: resolved.address,
    user: resolved.user,
    ...(target.sudoPassword !== undefined ? { sudoPassword: target.sudoPassword } : {}),
    ...(opts.log ? { log: opts.log } : {}),
    afterClose: opened.closeJump,
  });
}

/** One prompt at a time, even when several nodes ask at once. */
function oneAtATime<A extends unknown[], R>(fn: (...args: A) => Promise<R>): (...args: A) => Promise<R> {
  let last: Promise<unknown> = Promise.resolve();
  return (...args: A) => {
    const next = last.then(() => fn(...args));
    last = next.catch(() => undefined);
    return next;
  };
}

export interface ConnectEachResult {
  readonly hosts: Map<string, RemoteHost>;
  readonly failures: HactlError[];
}

/** Connect to every target in parallel; reports each failure instead of throwing. */
export async function connectEach(targets: readonly SshTarget[], opts: ConnectOptions): Promise<ConnectEachResult> {
  const shared: ConnectOptions = {
    ...opts,
    ...(opts.confirmHostKey ? { confirmHostKey: oneAtATime(opts.confirmHostKey) } : {}),
    ...(opts.promptPassphrase ? { promptPassphrase: oneAtATime(opts.promptPassphrase) } : {}),
  };
  const settled = await Promise.allSettled(targets.map((t) => connectNode(t, shared)));
  const hosts = new Map<string, RemoteHost>();
  const failures: HactlError[] = [];
  settled.forEach((s, i) => {
    const name = targets[i]?.name ?? String(i);
    if (s.status === "fulfilled") hosts.set(name, s.value);
    else failures.push(asHactlError(s.reason));
  });
  return { hosts, failures };
}

/**
 * Connect to every target in parallel, one connection per node. With allOrNothing (the default) any
 * failure closes the connections that did open and throws a MultiNodeError listing every failed node.
 */
export async function connectAll(
  targets: readonly SshTarget[],
  opts: ConnectOptions,
): Promise<Map<string, RemoteHost>> {
  const { hosts, failures } = await connectEach(targets, opts);
  if (failures.length > 0 && (opts.allOrNothing ?? true)) {
    await Promise.all([...hosts.values()].map((h) => h.close()));
    throw new MultiNodeError("connect", failures);
  }
  for (const f of failures) opts.log?.(f.node ?? "?", `not connected: ${f.message}`);
  return hosts;
}
