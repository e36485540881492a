/**
 * known_hosts, read the way OpenSSH reads it: plain and comma-separated host patterns (with `*`, `?` and
 * `!` negation), hashed `|1|salt|hash` names, `[host]:port` for ports other than 22, and the
 * `@cert-authority` / `@revoked` markers. ssh2 has no known_hosts support of its own.
 */
import { createHash, createHmac, randomBytes } from "node:crypto";
import { appendFile, mkdir, readFile } from "node:fs/promises";
import { homedir } from "node:os";
import { dirname, join } from "node:path";

export type HostKeyMarker = "cert-authority" | "revoked";
export type HostKeyVerdict = "match" | "mismatch" | "unknown" | "revoked";

export interface KnownHostEntry {
  /** File the entry came from. */
  readonly file: string;
  /** 1-based line number in that file. */
  readonly line: number;
  readonly marker: HostKeyMarker | undefined;
  /** The host field as written (patterns or a hashed name). */
  readonly hosts: string;
  /** Key type as written, e.g. `ssh-ed25519`. */
  readonly keyType: string;
  /** The public key blob (SSH wire format). */
  readonly key: Buffer;
}

export interface KnownHostsProblem {
  readonly file: string;
  readonly line: number;
  readonly reason: string;
}

export interface HostKeyCheck {
  readonly verdict: HostKeyVerdict;
  /** Plain entries for this host with the presented key's type (the ones a mismatch contradicts). */
  readonly sameType: readonly KnownHostEntry[];
  /** True when the host is only vouched for by a CA, which hactl cannot check (ssh2 has no host certificates). */
  readonly onlyCertAuthority: boolean;
}

/** The name OpenSSH records for a host: `host` on port 22, `[host]:port` otherwise. */
export function hostKeyName(host: string, port: number): string {
  return port === 22 ? host : `[${host}]:${port}`;
}

/** The user's file, the one hactl appends to when no other is configured. */
export function defaultKnownHostsFile(): string {
  return join(homedir(), ".ssh", "known_hosts");
}

export const GLOBAL_KNOWN_HOSTS_FILE = "/etc/ssh/ssh_known_hosts";

/** The key type named inside a public key blob (its first SSH string). */
export function keyTypeOf(blob: Buffer): string {
  if (blob.length < 4) return "unknown";
  const len = blob.readUInt32BE(0);
  if (len > blob.length - 4 || len > 64) return "unknown";
  return blob.subarray(4, 4 + len).toString("latin1");
}

/** `SHA256:<base64 without padding>`, exactly as `ssh-keygen -l` prints it. */
export function fingerprint(blob: Buffer): string {
  return `SHA256:${createHash("sha256").update(blob).digest("base64").replace(/=+$/, "")}`;
}

export function parseKnownHosts(
  text: string,
  file: string,
): { entries: KnownHostEntry[]; problems: KnownHostsProblem[] } {
  const entries: KnownHostEntry[] = [];
  const problems: KnownHostsProblem[] = [];
  text.split(/\r?\n/).forEach((raw, index) => {
    const line = index + 1;
    const trimmed = raw.trim();
    if (trimmed === "" || trimmed.startsWith("#")) return;
    const fields = trimmed.split(/\s+/);
    let marker: HostKeyMarker | undefined;
    if (fields[0]?.startsWith("@")) {
      const name = fields.shift()?.slice(1);
      if (name !== "cert-authority" && name !== "revoked") {
        problems.push({ file, line, reason: `unknown marker @${name ?? ""}` });
        return;
      }
      marker = name;
    }
    const [hosts, keyType, keyText] = fields;
    if (!hosts || !keyType || !keyText) {
      problems.push({ file, line, reason: "expected: hosts key-type base64-key" });
      return;
    }
    const key = Buffer.from(keyText, "base64");
    if (key.length === 0 || keyTypeOf(key) !== keyType) {
      problems.push({ file, line, reason: `key does not decode as ${keyType}` });
      return;
    }
    entries.push({ file, line, marker, hosts, keyType, key });
  });
  return { entries, problems };
}

function globToRegExp(pattern: string): RegExp {
  const body = pattern
    .replace(/[.+^${}()|[\]\\]/g, "\\$&")
    .replace(/\*/g, ".*")
    .replace(/\?/g, ".");
  return new RegExp(`^${body}$`, "i");
}

/** OpenSSH pattern-list semantics: any matching `!pattern` excludes, otherwise any positive match includes. */
export function matchPatternList(list: string, name: string): boolean {
  let matched = false;
  for (const item of list.split(",")) {
    if (item === "") continue;
    const negated = item.startsWith("!");
    const pattern = negated ? item.slice(1) : item;
    if (globToRegExp(pattern).test(name)) {
      if (negated) return false;
      matched = true;
    }
  }
  return matched;
}

function matchHashed(field: string, name: string): boolean {
  const [, magic, salt, hash] = field.split("|");
  if (magic !== "1" || !salt || !hash) return false;
  const digest = createHmac("sha1", Buffer.from(salt, "base64")).update(name).digest("base64");
  return digest === hash;
}

/** Does this entry's host field name `name` (`host` or `[host]:port`)? */
export function entryMatches(entry: Pick<KnownHostEntry, "hosts">, name: string): boolean {
  return entry.hosts.startsWith("|") ? matchHashed(entry.hosts, name) : matchPatternList(entry.hosts, name);
}

/** The line OpenSSH would write for a newly accepted key (plain, not hashed, so operators can read it). */
export function formatEntry(host: string, port: number, key: Buffer): string {
  return `${hostKeyName(host, port)} ${keyTypeOf(key)} ${key.toString("base64")}`;
}

/** A hashed host field `|1|salt|hash`, as written with HashKnownHosts yes (used by tests and tools). */
export function hashHostName(name: string, salt: Buffer = randomBytes(20)): string {
  const hash = createHmac("sha1", salt).update(name).digest("base64");
  return `|1|${salt.toString("base64")}|${hash}`;
}

export class KnownHosts {
  private readonly list: KnownHostEntry[];
  readonly problems: readonly KnownHostsProblem[];

  constructor(entries: readonly KnownHostEntry[], problems: readonly KnownHostsProblem[] = []) {
    this.list = [...entries];
    this.problems = problems;
  }

  get entries(): readonly KnownHostEntry[] {
    return this.list;
  }

  /** Read every file that exists, in order; missing files are skipped. */
  static async load(files: readonly string[]): Promise<KnownHosts> {
    const entries: KnownHostEntry[] = [];
    const problems: KnownHostsProblem[] = [];
    for (const file of [...new Set(files)]) {
      let text: string;
      try {
        text = await readFile(file, "utf8");
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === "ENOENT") continue;
        throw err;
      }
      const parsed = parseKnownHosts(text, file);
      entries.push(...parsed.entries);
      problems.push(...parsed.problems);
    }
    return new KnownHosts(entries, problems);
  }

  private forHost(host: string, port: number): KnownHostEntry[] {
    const name = hostKeyName(host, port);
    return this.list.filter((e) => entryMatches(e, name));
  }

  /** Plain keys recorded for the host (no CA or revoked lines). */
  lookup(host: string, port: number): KnownHostEntry[] {
    return this.forHost(host, port).filter((e) => e.marker === undefined);
  }

  /** Key types recorded for the host, in file order, without duplicates. */
  knownKeyTypes(host: string, port: number): string[] {
    return [...new Set(this.lookup(host, port).map((e) => e.keyType))];
  }

  verify(host: string, port: number, key: Buffer): HostKeyCheck {
    const all = this.forHost(host, port);
    const type = keyTypeOf(key);
    const plain = all.filter((e) => e.marker === undefined);
    const sameType = plain.filter((e) => e.keyType === type);
    const onlyCertAuthority = plain.length === 0 && all.some((e) => e.marker === "cert-authority");
    if (all.some((e) => e.marker === "revoked" && e.key.equals(key))) {
      return { verdict: "revoked", sameType, onlyCertAuthority };
    }
    if (sameType.some((e) => e.key.equals(key))) return { verdict: "match", sameType, onlyCertAuthority };
    if (sameType.length > 0) return { verdict: "mismatch", sameType, onlyCertAuthority };
    return { verdict: "unknown", sameType, onlyCertAuthority };
  }

  /** Record an accepted key in `file` (created with its directory when missing) and in this instance. */
  async append(file: string, host: string, port: number, key: Buffer): Promise<void> {
    await mkdir(dirname(file), { recursive: true, mode: 0o700 });
    let prefix = "";
    try {
      const existing = await readFile(file, "utf8");
      if (existing.length > 0 && !existing.endsWith("\n")) prefix = "\n";
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
    }
    await appendFile(file, `${prefix}${formatEntry(host, port, key)}\n`, { mode: 0o600 });
    this.list.push({ file, line: 0, marker: undefined, hosts: hostKeyName(host, port), keyType: keyTypeOf(key), key });
  }
}
