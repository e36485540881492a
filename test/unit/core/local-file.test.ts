import {
  chmodSync,
  lstatSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { writeFileAtomic } from "../../../src/core/local-file.js";

describe("writeFileAtomic", () => {
  it("replaces the file, keeps its mode and leaves no temporary file", async () => {
    const dir = mkdtempSync(join(tmpdir(), "hactl-atomic-"));
    const file = join(dir, "cluster.yaml");
    writeFileSync(file, "old\n");
    chmodSync(file, 0o640);
    await writeFileAtomic(file, "new\n");
    expect(readFileSync(file, "utf8")).toBe("new\n");
    expect(statSync(file).mode & 0o777).toBe(0o640);
    expect(readdirSync(dir)).toEqual(["cluster.yaml"]);
  });

  it("creates a new file with the given mode (0600 for secrets)", async () => {
    const dir = mkdtempSync(join(tmpdir(), "hactl-atomic-"));
    const file = join(dir, "admin.kubeconfig");
    await writeFileAtomic(file, "secret", { mode: 0o600 });
    expect(statSync(file).mode & 0o777).toBe(0o600);
  });

  it("leaves the old file untouched and no temporary file when the write fails", async () => {
    const dir = mkdtempSync(join(tmpdir(), "hactl-atomic-"));
    const file = join(dir, "missing-dir", "cluster.yaml");
    await expect(writeFileAtomic(file, "x")).rejects.toThrow(/ENOENT/);
    expect(readdirSync(dir)).toEqual([]);
  });

  it("follows a symlink (the link stays a link) and creates missing directories when asked", async () => {
    const dir = mkdtempSync(join(tmpdir(), "hactl-atomic-"));
    writeFileSync(join(dir, "real"), "old");
    symlinkSync(join(dir, "real"), join(dir, "link"));
    await writeFileAtomic(join(dir, "link"), "new", { mode: 0o600 });
    expect(lstatSync(join(dir, "link")).isSymbolicLink()).toBe(true);
    expect(readFileSync(join(dir, "real"), "utf8")).toBe("new");
    await writeFileAtomic(join(dir, "a", "b", "backup.tar.gz"), "x", { mode: 0o600, createDir: true });
    expect(statSync(join(dir, "a", "b")).mode & 0o777).toBe(0o700);
  });
});
