import { describe, expect, it } from "vitest";
import { gzipSync } from "node:zlib";
import {
  MIN_ARCHIVE_BYTES,
  checksumLine,
  defaultBackupName,
  inspectDbctlDump,
  openBackup,
  packBackup,
  parseChecksumLine,
  sha256,
  type BackupManifest,
} from "../../../src/phases/backup-archive.js";
import { buildManifest, copyTooSmall, microk8sBackupRunner } from "../../../src/phases/backup-plan.js";
import { readTar, readTarGz, writeTarGz } from "../../../src/phases/tar.js";
import type { Microk8sStatus } from "../../../src/distros/microk8s.js";
import { THREE_CP_ONE_WORKER, specFrom } from "../../fakes/spec.js";

const spec = specFrom(THREE_CP_ONE_WORKER);

/** A dbctl archive: NAME/0.key, 0.data, ... (random data so gzip cannot shrink it below the minimum). */
function dump(name: string, keys: number): Buffer {
  const files = [];
  for (let i = 0; i < keys; i++) {
    files.push({ name: `${name}/${i}.key`, data: Buffer.from(`/registry/deployments/default/app-${i}`) });
    files.push({
      name: `${name}/${i}.data`,
      data: Buffer.from(JSON.stringify({ i, pad: sha256(Buffer.from(String(i))).repeat(8) })),
    });
  }
  return writeTarGz(files);
}

function manifestFor(store: Buffer, entries = 6): BackupManifest {
  return buildManifest(
    spec,
    { on: "node-1", startedAt: "2026-01-02T03:04:05.000Z", takenAt: "2026-01-02T03:04:06.000Z" },
    {
      kind: "microk8s-dbctl",
      file: "datastore/b.tar.gz",
      sha256: sha256(store),
      size: store.length,
      name: "b",
      entries,
    },
  );
}

describe("tar", () => {
  it("reads back what it writes, and refuses a truncated archive", () => {
    const tar = readTarGz(
      writeTarGz([
        { name: "a/1.key", data: Buffer.from("k") },
        { name: "a/1.data", data: Buffer.alloc(700, 1) },
      ]),
    );
    expect(tar.map((e) => [e.name, e.data.length])).toEqual([
      ["a/1.key", 1],
      ["a/1.data", 700],
    ]);
    const raw = Buffer.alloc(0);
    expect(() => readTar(raw)).toThrow(/end-of-archive/);
    const whole = writeTarGz([{ name: "x", data: Buffer.alloc(2000, 7) }]);
    expect(() => readTarGz(whole.subarray(0, whole.length - 10))).toThrow(/gzip/);
  });

  it("reads GNU long names and PAX paths", () => {
    const long = "d/".padEnd(120, "x");
    const header = (name: string, size: number, type: string): Buffer => {
      const h = Buffer.alloc(512);
      h.write(name, 0);
      h.write(size.toString(8).padStart(11, "0"), 124);
      h.write(type, 156);
      h.write("        ", 148);
      let sum = 0;
      for (const b of h) sum += b;
      h.write(`${sum.toString(8).padStart(6, "0")}\0 `, 148);
      return h;
    };
    const pad = (b: Buffer): Buffer => Buffer.concat([b, Buffer.alloc((512 - (b.length % 512)) % 512)]);
    const pax = Buffer.from(`${`path=${long}`.length + 5} path=${long}\n`);
    const tar = Buffer.concat([
      header("././@LongLink", long.length, "L"),
      pad(Buffer.from(long)),
      header("short", 1, "0"),
      pad(Buffer.from("a")),
      header("PaxHeader", pax.length, "x"),
      pad(pax),
      header("short2", 1, "0"),
      pad(Buffer.from("b")),
      Buffer.alloc(1024),
    ]);
    expect(readTar(tar).map((e) => e.name)).toEqual([long, long]);
  });
});

describe("dbctl dumps", () => {
  it("counts the numbered keys of the one directory", () => {
    expect(inspectDbctlDump(dump("backup-1", 3))).toEqual({ dir: "backup-1", entries: 3 });
  });

  it("refuses an empty dump (the silently empty backups of microk8s#4259) and broken pairs", () => {
    const empty = gzipSync(Buffer.concat([Buffer.alloc(1024)]));
    expect(() => inspectDbctlDump(empty)).toThrow(/one directory/);
    expect(() => inspectDbctlDump(writeTarGz([{ name: "b/readme", data: Buffer.from("x") }]))).toThrow(/no keys/);
    expect(() => inspectDbctlDump(writeTarGz([{ name: "b/0.key", data: Buffer.from("k") }]))).toThrow(
      /0.key has no 0.data/,
    );
  });

  it("needs at least one key per node", () => {
    expect(copyTooSmall(3, spec)).toMatch(/3 keys, fewer than the cluster's 4 nodes/);
    expect(copyTooSmall(4, spec)).toBeUndefined();
  });
});

describe("backup archives", () => {
  const store = dump("b", 6);
  const archive = packBackup(manifestFor(store), [{ name: "datastore/b.tar.gz", data: store }]);

  it("opens a packed archive with its manifest", () => {
    expect(archive.length).toBeGreaterThan(MIN_ARCHIVE_BYTES);
    const opened = openBackup(archive);
    expect(opened.manifest.cluster).toBe("lab");
    expect(opened.manifest.members).toHaveLength(4);
    expect(opened.files.get("datastore/b.tar.gz")?.equals(store)).toBe(true);
  });

  it("refuses damage: flipped bytes, a missing or altered file, a manifest that does not match, a tiny file", () => {
    const flipped = Buffer.from(archive);
    const middle = Math.floor(flipped.length / 2);
    flipped.writeUInt8(flipped.readUInt8(middle) ^ 0xff, middle);
    expect(() => openBackup(flipped)).toThrow(/damaged/);
    const other = dump("b", 5);
    expect(() => openBackup(packBackup(manifestFor(store), [{ name: "datastore/b.tar.gz", data: other }]))).toThrow(
      /does not match its checksum/,
    );
    expect(() =>
      openBackup(packBackup(manifestFor(store), [{ name: "datastore/renamed.tar.gz", data: store }])),
    ).toThrow(/datastore\/b.tar.gz is missing from the archive/);
    expect(() => openBackup(packBackup(manifestFor(store, 7), [{ name: "datastore/b.tar.gz", data: store }]))).toThrow(
      /holds 6 keys in b\/, the manifest says 7/,
    );
    expect(() => openBackup(writeTarGz([{ name: "manifest.json", data: Buffer.from("{}") }]))).toThrow(/too small/);
    expect(() => openBackup(writeTarGz([{ name: "datastore/x", data: dump("b", 40) }]))).toThrow(/no manifest.json/);
  });

  it("writes and reads sha256sum lines, and names archives by cluster and UTC time", () => {
    const line = checksumLine("a".repeat(64), "/x/backups/lab-1.tar.gz");
    expect(line).toBe(`${"a".repeat(64)}  lab-1.tar.gz\n`);
    expect(parseChecksumLine(line)).toBe("a".repeat(64));
    expect(parseChecksumLine("not a sum")).toBeUndefined();
    expect(defaultBackupName("lab", new Date("2026-01-02T03:04:05.678Z"))).toBe("lab-20260102T030405Z.tar.gz");
  });
});

describe("the backup's control plane", () => {
  const status = (over: Partial<Microk8sStatus>, address: string): Microk8sStatus => ({
    running: true,
    haEnabled: true,
    datastore: [{ address: `${address}:19001`, role: "voter" }],
    addons: new Map(),
    isWorker: false,
    ...over,
  });

  it("is the first running voter with HA on; otherwise every reason is given", () => {
    const s = new Map([
      ["node-1", status({ running: false }, "10.0.0.11")],
      ["node-2", status({ haEnabled: false }, "10.0.0.12")],
      ["node-3", status({}, "10.0.0.13")],
    ]);
    expect(microk8sBackupRunner(spec, s)).toEqual({ runner: "node-3" });
    s.delete("node-3");
    expect(microk8sBackupRunner(spec, s)).toEqual({
      refusals: [
        "node-1: MicroK8s is not running",
        "node-2: high availability is off (dbctl needs it)",
        "node-3: MicroK8s is not installed or did not answer",
      ],
    });
  });
});
