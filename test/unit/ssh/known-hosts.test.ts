import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { preferredHostKeyAlgorithms } from "../../../src/ssh/connect.js";
import {
  KnownHosts,
  entryMatches,
  fingerprint,
  formatEntry,
  hashHostName,
  hostKeyName,
  keyTypeOf,
  matchPatternList,
  parseKnownHosts,
} from "../../../src/ssh/known-hosts.js";

/** A real ed25519 host key and the fingerprint `ssh-keygen -lf` printed for it. */
const ED = "AAAAC3NzaC1lZDI1NTE5AAAAIB6wefaD3lEsA7JC+bC+V93VMuILjgLglv4G5sVU/ehf";
const ED_FP = "SHA256:WWMYIgrkvS8OGH4OrPLAIvjHuhA1pKagtgzqPXm0TZ8";
/** `ssh-keygen -H` output for `[127.0.0.1]:22222` with the key above. */
const HASHED_PORT_LINE = `|1|tPNcTrt5KMqqEg2Vt90Achhj+8I=|cE2U4TBwGp7spDPJXtp16Rb8nUc= ssh-ed25519 ${ED}`;

function blob(type: string, seed: number): Buffer {
  const t = Buffer.from(type, "latin1");
  const body = Buffer.alloc(32, seed);
  const out = Buffer.alloc(8 + t.length + body.length);
  out.writeUInt32BE(t.length, 0);
  t.copy(out, 4);
  out.writeUInt32BE(body.length, 4 + t.length);
  body.copy(out, 8 + t.length);
  return out;
}
const b64 = (b: Buffer): string => b.toString("base64");
const edKey = Buffer.from(ED, "base64");
const other = blob("ssh-ed25519", 7);
const ecdsa = blob("ecdsa-sha2-nistp256", 9);

describe("parseKnownHosts", () => {
  it("reads plain, comma-list, hashed, bracketed-port and marker lines, skipping comments and blanks", () => {
    const text = [
      "# a comment",
      "",
      `10.0.0.11 ssh-ed25519 ${ED} root@node-1`,
      `node-2,10.0.0.12 ssh-ed25519 ${b64(other)}`,
      `[10.0.0.13]:2222 ecdsa-sha2-nistp256 ${b64(ecdsa)}`,
      HASHED_PORT_LINE,
      `@cert-authority *.example.com ssh-ed25519 ${b64(other)}`,
      `@revoked * ssh-ed25519 ${b64(blob("ssh-ed25519", 3))}`,
      "   # indented comment",
    ].join("\n");
    const { entries, problems } = parseKnownHosts(text, "/kh");
    expect(problems).toEqual([]);
    expect(entries.map((e) => [e.line, e.marker, e.keyType])).toEqual([
      [3, undefined, "ssh-ed25519"],
      [4, undefined, "ssh-ed25519"],
      [5, undefined, "ecdsa-sha2-nistp256"],
      [6, undefined, "ssh-ed25519"],
      [7, "cert-authority", "ssh-ed25519"],
      [8, "revoked", "ssh-ed25519"],
    ]);
  });

  it("reports malformed lines with file and line instead of failing", () => {
    const { entries, problems } = parseKnownHosts(`onlyhost\n@bogus h ssh-ed25519 ${ED}\nh ssh-rsa ${ED}\n`, "/kh");
    expect(entries).toEqual([]);
    expect(problems.map((p) => p.line)).toEqual([1, 2, 3]);
    expect(problems[2]?.reason).toMatch(/does not decode as ssh-rsa/);
  });
});

describe("host matching", () => {
  it("names hosts like OpenSSH: bare on port 22, [host]:port otherwise", () => {
    expect(hostKeyName("10.0.0.1", 22)).toBe("10.0.0.1");
    expect(hostKeyName("10.0.0.1", 2222)).toBe("[10.0.0.1]:2222");
  });

  it("matches wildcard pattern lists with negation", () => {
    expect(matchPatternList("*.example.com,!bad.example.com", "good.example.com")).toBe(true);
    expect(matchPatternList("*.example.com,!bad.example.com", "bad.example.com")).toBe(false);
    expect(matchPatternList("10.0.0.?", "10.0.0.7")).toBe(true);
    expect(matchPatternList("10.0.0.?", "10.0.0.77")).toBe(false);
    expect(matchPatternList("NODE-1", "node-1")).toBe(true);
  });

  it("matches hashed names written by ssh-keygen -H, including the port form", () => {
    const [entry] = parseKnownHosts(HASHED_PORT_LINE, "/kh").entries;
    expect(entry).toBeDefined();
    if (!entry) return;
    expect(entryMatches(entry, "[127.0.0.1]:22222")).toBe(true);
    expect(entryMatches(entry, "127.0.0.1")).toBe(false);
    expect(entryMatches({ hosts: hashHostName("10.1.2.3") }, "10.1.2.3")).toBe(true);
    expect(entryMatches({ hosts: hashHostName("10.1.2.3") }, "10.1.2.4")).toBe(false);
  });
});

describe("KnownHosts.verify", () => {
  const db = new KnownHosts(
    parseKnownHosts(
      [
        `10.0.0.11 ssh-ed25519 ${ED}`,
        `[10.0.0.11]:2222 ssh-ed25519 ${b64(other)}`,
        `10.0.0.12 ecdsa-sha2-nistp256 ${b64(ecdsa)}`,
        `@cert-authority 10.0.0.20 ssh-ed25519 ${b64(other)}`,
        `@revoked 10.0.0.30 ssh-ed25519 ${b64(other)}`,
        `10.0.0.30 ssh-ed25519 ${b64(other)}`,
      ].join("\n"),
      "/kh",
    ).entries,
  );

  it("accepts the recorded key", () => {
    expect(db.verify("10.0.0.11", 22, edKey).verdict).toBe("match");
  });

  it("reports a different key of a recorded type as a mismatch, naming the offending line", () => {
    const check = db.verify("10.0.0.11", 22, other);
    expect(check.verdict).toBe("mismatch");
    expect(check.sameType.map((e) => `${e.file}:${e.line}`)).toEqual(["/kh:1"]);
  });

  it("keeps ports apart", () => {
    expect(db.verify("10.0.0.11", 2222, other).verdict).toBe("match");
    expect(db.verify("10.0.0.11", 2222, edKey).verdict).toBe("mismatch");
    expect(db.verify("10.0.0.11", 2200, edKey).verdict).toBe("unknown");
  });

  it("treats a key of a type not recorded for the host as unknown", () => {
    expect(db.verify("10.0.0.12", 22, edKey).verdict).toBe("unknown");
  });

  it("does not treat a CA line as a plain key", () => {
    const check = db.verify("10.0.0.20", 22, other);
    expect(check.verdict).toBe("unknown");
    expect(check.onlyCertAuthority).toBe(true);
  });

  it("refuses revoked keys even when a plain line lists them", () => {
    expect(db.verify("10.0.0.30", 22, other).verdict).toBe("revoked");
  });

  it("lists recorded key types in file order for algorithm preference", () => {
    expect(db.knownKeyTypes("10.0.0.11", 22)).toEqual(["ssh-ed25519"]);
    expect(preferredHostKeyAlgorithms(["ssh-rsa", "ecdsa-sha2-nistp256"])).toEqual([
      "rsa-sha2-512",
      "rsa-sha2-256",
      "ssh-rsa",
      "ecdsa-sha2-nistp256",
    ]);
    expect(preferredHostKeyAlgorithms(["sk-ssh-ed25519@openssh.com"])).toEqual([]);
  });
});

describe("files", () => {
  let dir: string | undefined;
  afterEach(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
    dir = undefined;
  });

  it("loads several files, skipping missing ones, and appends accepted keys", async () => {
    dir = await mkdtemp(join(tmpdir(), "hactl-kh-"));
    const a = join(dir, "a");
    const b = join(dir, "sub", "b");
    await writeFile(a, `10.0.0.11 ssh-ed25519 ${ED}`);
    const db = await KnownHosts.load([a, join(dir, "missing"), b]);
    expect(db.entries).toHaveLength(1);
    await db.append(b, "10.0.0.12", 2222, other);
    await db.append(a, "10.0.0.13", 22, ecdsa);
    expect(db.verify("10.0.0.12", 2222, other).verdict).toBe("match");
    expect(await readFile(b, "utf8")).toBe(`[10.0.0.12]:2222 ssh-ed25519 ${b64(other)}\n`);
    expect(await readFile(a, "utf8")).toBe(`10.0.0.11 ssh-ed25519 ${ED}\n${formatEntry("10.0.0.13", 22, ecdsa)}\n`);
    const again = await KnownHosts.load([a, b]);
    expect(again.verify("10.0.0.13", 22, ecdsa).verdict).toBe("match");
  });
});

describe("fingerprints", () => {
  it("prints SHA256 fingerprints exactly like ssh-keygen -l", () => {
    expect(fingerprint(edKey)).toBe(ED_FP);
    expect(keyTypeOf(edKey)).toBe("ssh-ed25519");
    expect(keyTypeOf(Buffer.from([0, 0]))).toBe("unknown");
  });
});
