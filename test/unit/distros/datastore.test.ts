import { describe, expect, it } from "vitest";
import {
  dbctlArchiveName,
  dbctlBackup,
  etcdSnapshotSave,
  parseBackupRun,
  parseDbctlRestore,
  parseSnapshotStatus,
} from "../../../src/distros/datastore.js";

describe("datastore copy commands", () => {
  it("run dbctl in a fresh root-only directory and hand it to the login user", () => {
    const c = dbctlBackup("hactl-lab-1");
    expect(c.sudo).toBe(true);
    expect(c.argv.slice(-1)).toEqual(["hactl-lab-1"]);
    expect(c.argv[2]).toContain("mktemp -d /tmp/hactl-backup.XXXXXX");
    expect(c.argv[2]).toContain('microk8s dbctl backup -o "$1"');
    expect(c.argv[2]).toContain('chown -R "$SUDO_USER" "$d"');
  });

  it("save the etcd snapshot with kubeadm's etcd client certificates and copy the PKI files that exist", () => {
    const c = etcdSnapshotSave(["/etc/kubernetes/pki/ca.crt"]);
    expect(c.argv[2]).toContain("etcdctl --endpoints=https://127.0.0.1:2379 --cacert=/etc/kubernetes/pki/etcd/ca.crt");
    expect(c.argv[2]).toContain('snapshot save "$d/snapshot.db"');
    expect(c.argv.slice(-1)).toEqual(["/etc/kubernetes/pki/ca.crt"]);
  });
});

describe("parsers", () => {
  it("split hactl's markers from dbctl's own lines", () => {
    const run = parseBackupRun(
      "dir /tmp/hactl-backup.abc123\nstart 2026-01-02T03:04:05.123Z\nBacking up the datastore\nThe backup is: hactl-lab-1.tar.gz\nend 2026-01-02T03:04:06.456Z\n",
    );
    expect(run).toEqual({
      dir: "/tmp/hactl-backup.abc123",
      startedAt: "2026-01-02T03:04:05.123Z",
      endedAt: "2026-01-02T03:04:06.456Z",
      output: ["Backing up the datastore", "The backup is: hactl-lab-1.tar.gz"],
      pki: [],
    });
    expect(dbctlArchiveName(run.output)).toBe("hactl-lab-1.tar.gz");
    expect(dbctlArchiveName(["Please ensure the kubernetes apiserver is running and HA is enabled."])).toBeUndefined();
    expect(parseBackupRun("dir /etc\n").dir).toBeUndefined();
  });

  it("read the migrator's restore log", () => {
    expect(
      parseDbctlRestore(
        'time="t" level=info msg="Starting migrator" dir=/tmp/x mode=restore-to-dqlite\ntime="t" level=info msg="Completed database restore" entries=17\n',
      ),
    ).toEqual({ entries: 17, failed: [] });
    expect(
      parseDbctlRestore('time="t" level=error msg="Failed to restore key" index=2 key=/registry/a\n').failed,
    ).toEqual(["/registry/a"]);
  });

  it("read etcdctl snapshot status -w json", () => {
    expect(parseSnapshotStatus('{"hash":3910390120,"revision":512,"totalKey":301,"totalSize":2105344}')).toEqual({
      revision: 512,
      totalKey: 301,
      totalSize: 2105344,
    });
    expect(() => parseSnapshotStatus("{}")).toThrow(/expected numbers in revision, totalKey and totalSize/);
    expect(() => parseSnapshotStatus("Error: snapshot file not found")).toThrow(
      expect.objectContaining({
        code: "UNEXPECTED_OUTPUT",
        message: expect.stringContaining("etcdctl snapshot status -w json"),
      }),
    );
  });
});

describe("remote output that does not parse", () => {
  it("names the command and what was expected, never 'a bug in hactl'", async () => {
    const { parseNodes } = await import("../../../src/distros/kubectl.js");
    const { parseStatus } = await import("../../../src/distros/microk8s.js");
    const { asHactlError } = await import("../../../src/core/errors.js");
    for (const run of [
      () => parseNodes("<html>502</html>"),
      () => parseNodes('{"items":[{"metadata":{}}]}'),
      () => parseStatus("microk8s:\n  running: [unclosed"),
    ]) {
      let caught: unknown;
      try {
        run();
      } catch (e) {
        caught = e;
      }
      const e = asHactlError(caught);
      expect(e.code).toBe("UNEXPECTED_OUTPUT");
      expect(e.message).toMatch(
        /^`(kubectl get nodes -o json|microk8s status --format yaml)` printed something hactl cannot read: expected /,
      );
      expect(e.remedy).not.toMatch(/bug in hactl/);
    }
  });
});
