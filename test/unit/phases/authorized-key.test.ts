import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync, mkdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { authorizeKeyCommand, parsePublicKey } from "../../../src/phases/authorized-key.js";

const KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl operator@laptop";
const OTHER = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBVu0kuh3B0H9m1b4Y8yq2U5eZ0dQ8DFSkq9gCXeQkVp other@host";

describe("parsePublicKey", () => {
  it("reads one key line with its comment", () => {
    expect(parsePublicKey(`${KEY}\n`, "k.pub")).toEqual({ type: "ssh-ed25519", blob: KEY.split(" ")[1], line: KEY });
  });

  it("refuses a private key, several keys, and text that is no key, naming the file", () => {
    expect(() => parsePublicKey("-----BEGIN OPENSSH PRIVATE KEY-----\nabc\n", "id.pub")).toThrow(
      /installKey: id\.pub holds a private key/,
    );
    expect(() => parsePublicKey(`${KEY}\n${OTHER}\n`, "k.pub")).toThrow(/holds 2 keys/);
    expect(() => parsePublicKey("hello world\n", "k.pub")).toThrow(/does not start with a key type/);
    expect(() => parsePublicKey("ssh-ed25519 !!!\n", "k.pub")).toThrow(/no base64 key/);
  });
});

/** The remote script, run here with sh as the login user would run it, against a scratch HOME. */
describe("the authorize-key script", () => {
  const homes: string[] = [];
  afterEach(() => {
    for (const h of homes.splice(0)) rmSync(h, { recursive: true, force: true });
  });
  const run = (home: string, line = KEY): string => {
    const c = authorizeKeyCommand(parsePublicKey(line, "k.pub"));
    return execFileSync(c.argv[0], c.argv.slice(1), {
      input: c.stdin,
      env: { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: home },
      encoding: "utf8",
    }).trim();
  };
  const home = (): string => {
    const h = mkdtempSync(join(tmpdir(), "hactl-key-"));
    homes.push(h);
    return h;
  };

  it("creates ~/.ssh 0700 and authorized_keys 0600 with the key, then finds it present", () => {
    const h = home();
    expect(run(h)).toBe("added");
    expect(statSync(join(h, ".ssh")).mode & 0o777).toBe(0o700);
    expect(statSync(join(h, ".ssh/authorized_keys")).mode & 0o777).toBe(0o600);
    expect(readFileSync(join(h, ".ssh/authorized_keys"), "utf8")).toBe(`${KEY}\n`);
    expect(run(h)).toBe("present");
    expect(readFileSync(join(h, ".ssh/authorized_keys"), "utf8")).toBe(`${KEY}\n`);
  });

  it("keeps other keys, ends an unterminated last line first, and fixes loose modes", () => {
    const h = home();
    mkdirSync(join(h, ".ssh"), { mode: 0o755 });
    writeFileSync(join(h, ".ssh/authorized_keys"), OTHER, { mode: 0o644 });
    expect(run(h)).toBe("added");
    expect(readFileSync(join(h, ".ssh/authorized_keys"), "utf8")).toBe(`${OTHER}\n${KEY}\n`);
    expect(statSync(join(h, ".ssh")).mode & 0o777).toBe(0o700);
    expect(statSync(join(h, ".ssh/authorized_keys")).mode & 0o777).toBe(0o600);
  });

  it("counts the same key with options in front or another comment as present", () => {
    const h = home();
    mkdirSync(join(h, ".ssh"), { mode: 0o700 });
    const [type, blob] = KEY.split(" ");
    writeFileSync(join(h, ".ssh/authorized_keys"), `from="10.0.0.2" ${type} ${blob} old-comment\n`, { mode: 0o600 });
    expect(run(h)).toBe("present");
  });
});
