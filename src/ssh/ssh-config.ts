/**
 * A small ~/.ssh/config reader: Host blocks (patterns with `*`, `?` and `!`), HostName, User, Port,
 * IdentityFile and ProxyJump. As in OpenSSH, the first value obtained for an option wins, except
 * IdentityFile, which accumulates. `Match` blocks and `Include` are not evaluated: their options are skipped.
 */
import { readFile } from "node:fs/promises";
import { homedir, userInfo } from "node:os";
import { join } from "node:path";

export interface SshConfigBlock {
  /** Host patterns; undefined for options before the first Host line; null for a Match block. */
  readonly patterns: readonly string[] | undefined | null;
  readonly options: readonly (readonly [string, string])[];
}

export interface SshConfigValues {
  hostName?: string;
  user?: string;
  port?: number;
  identityFiles: string[];
  /** Raw ProxyJump value (`[user@]host[:port]`, comma-separated hops, or `none`). */
  proxyJump?: string;
}

export interface JumpHop {
  readonly host: string;
  readonly user?: string;
  readonly port?: number;
}

const SINGLE = new Set(["hostname", "user", "port", "proxyjump"]);

function splitArgs(rest: string): string[] {
  const out: string[] = [];
  const re = /"([^"]*)"|(\S+)/g;
  for (let m = re.exec(rest); m; m = re.exec(rest)) out.push(m[1] ?? m[2] ?? "");
  return out;
}

export function parseSshConfig(text: string): SshConfigBlock[] {
  const blocks: { patterns: string[] | undefined | null; options: [string, string][] }[] = [
    { patterns: undefined, options: [] },
  ];
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (line === "" || line.startsWith("#")) continue;
    const m = /^(\S+?)(?:\s*=\s*|\s+)(.*)$/.exec(line);
    if (!m) continue;
    const key = (m[1] ?? "").toLowerCase();
    const args = splitArgs(m[2] ?? "");
    if (key === "host") {
      blocks.push({ patterns: args, options: [] });
    } else if (key === "match") {
      blocks.push({ patterns: null, options: [] });
    } else if (args[0] !== undefined) {
      blocks[blocks.length - 1]?.options.push([key, args.join(" ")]);
    }
  }
  return blocks;
}

function globMatch(pattern: string, name: string): boolean {
  const body = pattern
    .replace(/[.+^${}()|[\]\\]/g, "\\$&")
    .replace(/\*/g, ".*")
    .replace(/\?/g, ".");
  return new RegExp(`^${body}$`, "i").test(name);
}

/** A Host line matches when any pattern matches and no negated pattern does. */
export function hostMatches(patterns: readonly string[], host: string): boolean {
  let matched = false;
  for (const p of patterns) {
    if (p.startsWith("!")) {
      if (globMatch(p.slice(1), host)) return false;
    } else if (globMatch(p, host)) {
      matched = true;
    }
  }
  return matched;
}

function expandTokens(value: string, v: { host: string; user: string | undefined; port: number | undefined }): string {
  const home = homedir();
  const withHome = value.startsWith("~/") ? join(home, value.slice(2)) : value === "~" ? home : value;
  return withHome.replace(/%([%dhprun])/g, (_m, t: string) => {
    switch (t) {
      case "%":
        return "%";
      case "d":
        return home;
      case "h":
        return v.host;
      case "p":
        return String(v.port ?? 22);
      case "r":
        return v.user ?? userInfo().username;
      case "u":
        return userInfo().username;
      default:
        return v.host;
    }
  });
}

/** The values OpenSSH would use for `ssh <host>`: first obtained value wins; IdentityFile accumulates. */
export function resolveSshConfig(blocks: readonly SshConfigBlock[], host: string): SshConfigValues {
  const first = new Map<string, string>();
  const identities: string[] = [];
  for (const block of blocks) {
    if (block.patterns === null) continue;
    if (block.patterns !== undefined && !hostMatches(block.patterns, host)) continue;
    for (const [key, value] of block.options) {
      if (key === "identityfile") identities.push(value);
      else if (SINGLE.has(key) && !first.has(key)) first.set(key, value);
    }
  }
  const hostName = first.get("hostname")?.replace(/%h/g, host);
  const port = first.has("port") ? Number(first.get("port")) : undefined;
  const user = first.get("user");
  const values: SshConfigValues = { identityFiles: [] };
  if (hostName !== undefined) values.hostName = hostName;
  if (user !== undefined) values.user = user;
  if (port !== undefined && Number.isInteger(port) && port > 0 && port < 65536) values.port = port;
  const proxyJump = first.get("proxyjump");
  if (proxyJump !== undefined) values.proxyJump = proxyJump;
  const tokens = { host: hostName ?? host, user, port: values.port };
  values.identityFiles = identities.filter((f) => f.toLowerCase() !== "none").map((f) => expandTokens(f, tokens));
  return values;
}

/** Split a ProxyJump value into hops, outermost first; `none` means no jump. */
export function parseProxyJump(value: string): JumpHop[] {
  if (value.trim().toLowerCase() === "none") return [];
  return value.split(",").map((hop) => {
    const text = hop.trim().replace(/^ssh:\/\//, "");
    const at = text.lastIndexOf("@");
    const user = at >= 0 ? text.slice(0, at) : undefined;
    const hostPort = at >= 0 ? text.slice(at + 1) : text;
    const bracketed = /^\[([^\]]+)\](?::(\d+))?$/.exec(hostPort);
    const plain = /^([^:]+)(?::(\d+))?$/.exec(hostPort);
    const m = bracketed ?? plain;
    const host = m?.[1] ?? hostPort;
    const port = m?.[2] !== undefined ? Number(m[2]) : undefined;
    return { host, ...(user ? { user } : {}), ...(port !== undefined ? { port } : {}) };
  });
}

export function defaultSshConfigFile(): string {
  return join(homedir(), ".ssh", "config");
}

/** Parsed ~/.ssh/config (or `file`); an absent file is an empty config. */
export async function loadSshConfig(file: string = defaultSshConfigFile()): Promise<SshConfigBlock[]> {
  try {
    return parseSshConfig(await readFile(file, "utf8"));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return [];
    throw err;
  }
}
