import { describe, expect, it } from "vitest";
import { existsSync, mkdtempSync, readFileSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { takeBackup } from "../../../src/actions/backup.js";
import type { Session } from "../../../src/actions/session.js";
import type { RemoteHost } from "../../../src/core/host.js";
import { checksumLine, openBackup, sha256 } from "../../../src/phases/backup-archive.js";
import { writeTarGz } from "../../../src/phases/tar.js";
import { quietContext } from "../../fakes/context.js";
import { FakeHost } from "../../fakes/fake-host.js";
import { statusYaml } from "../../fakes/outputs.js";
import { THREE_CP_ONE_WORKER, specFrom } from "../../fakes/spec.js";

const spec = specFrom(THREE_CP_ONE_WORKER);
const DIR = "/tmp/hactl-backup.Ab12Cd";

function dump(keys: number): Buffer {
  const files = [];
  for (let i = 0; i < keys; i++)
    files.push(
      { name: `d/${i}.key`, data: Buffer.from(`/registry/k${i}`) },
      { name: `d/${i}.data`, data: Buffer.from(sha256(Buffer.from(String(i))).repeat(20)) },
    );
  return writeTarGz(files);
}

/** Three running voters and a worker; node-1's dbctl answers with `dbctl` and leaves `archive` to download. */
function cluster(dbctl: { code: number; stdout: string }, archive?: Buffer): { session: Session; node1: FakeHost } {
  const members = [1, 2, 3].map((i) => ({ ip: `10.0.0.1${i}`, role: "voter" as const }));
  const hosts = new Map<string, RemoteHost>();
  let node1: FakeHost | undefined;
  for (const n of spec.spec.nodes) {
    const h = new FakeHost(n.name, n.address)
      .on({ prefix: ["snap", "list", "microk8s"] }, { code: 0 })
      .on({ prefix: ["microk8s", "status"] }, { stdout: statusYaml({ members }) })
      .on({ prefix: ["microk8s", "kubectl", "get", "nodes"] }, { stdout: '{"items":[]}' })
      .on({ regex: /dbctl backup/ }, dbctl)
      .on({ regex: /hactl-cleanup/ }, { code: 0 });
    if (archive) h.withBinary(`${DIR}/d.tar.gz`, archive);
    if (n.name === "node-1") node1 = h;
    hosts.set(n.name, h);
  }
  return { session: { hosts, unreachable: [], close: async () => undefined }, node1: node1 as FakeHost };
}

const made = (archive = "d.tar.gz"): string =>
  `dir ${DIR}\nstart 2026-01-02T03:04:05.000Z\nBacking up the datastore\nThe backup is: ${archive}\nend 2026-01-02T03:04:06.000Z\n`;

describe("takeBackup", () => {
  it("writes a checked archive with mode 0600 and its .sha256, and removes the node's copy", async () => {
    const out = join(mkdtempSync(join(tmpdir(), "hactl-tb-")), "b.tar.gz");
    const { session, node1 } = cluster({ code: 0, stdout: made() }, dump(6));
    const result = await takeBackup(quietContext(), session, spec, { specFile: "cluster.yaml", out });
    expect(result.path).toBe(out);
    expect(statSync(out).mode & 0o777).toBe(0o600);
    expect(readFileSync(`${out}.sha256`, "utf8")).toBe(checksumLine(result.sha256, out));
    expect(openBackup(readFileSync(out)).manifest).toMatchObject({
      cluster: "lab",
      takenOn: "node-1",
      takenAt: "2026-01-02T03:04:06.000Z",
      datastore: { entries: 6, name: "d" },
    });
    expect(node1.lines.some((l) => l.includes("hactl-cleanup") && l.endsWith(DIR))).toBe(true);
  });

  it("writes nothing for a dump with fewer keys than nodes, and still removes the node's copy", async () => {
    const out = join(mkdtempSync(join(tmpdir(), "hactl-tb-")), "b.tar.gz");
    const { session, node1 } = cluster({ code: 0, stdout: made() }, dump(2));
    await expect(takeBackup(quietContext(), session, spec, { specFile: "cluster.yaml", out })).rejects.toThrow(
      /no backup written: the datastore copy holds 2 keys, fewer than the cluster's 4 nodes/,
    );
    expect(existsSync(out)).toBe(false);
    expect(node1.lines.some((l) => l.includes("hactl-cleanup"))).toBe(true);
  });

  it("reports dbctl's refusal with its reason", async () => {
    const { session, node1 } = cluster({
      code: 10,
      stdout: `dir ${DIR}\nstart 2026-01-02T03:04:05.000Z\nPlease ensure the kubernetes apiserver is running and HA is enabled.\nend 2026-01-02T03:04:05.100Z\n`,
    });
    const err = await takeBackup(quietContext(), session, spec, { specFile: "cluster.yaml" }).catch((e: unknown) => e);
    expect(err).toMatchObject({
      message: "microk8s dbctl backup failed on node-1 (exit 10)",
      details: expect.stringContaining("HA is enabled"),
    });
    expect(node1.lines.some((l) => l.includes("hactl-cleanup"))).toBe(true);
  });
});
