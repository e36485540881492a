// Issue 17.2: remove-node and reset undo spec.storage.sharedMounts on the node (unmount, fstab line out with a backup).
import { describe, expect, it } from "vitest";
import { describePlan } from "../../../src/core/plan.js";
import { unmountSharedMounts, withoutFstabEntries } from "../../../src/phases/shared-mounts-undo.js";
import { sharedMountDrift } from "../../../src/phases/shared-mounts.js";
import { FakeHost, hostMap } from "../../fakes/fake-host.js";
import { THREE_CP_ONE_WORKER, specFrom } from "../../fakes/spec.js";
import { RunValues } from "../../../src/core/run-values.js";

const spec = specFrom(`${THREE_CP_ONE_WORKER}  storage:
    sharedMounts:
      - { server: 10.0.0.5, path: /srv/nfs/grdata, mountPoint: /grdata, options: [hard] }
`);
const mounts = spec.spec.storage?.sharedMounts ?? [];
const FSTAB = "# /etc/fstab\nUUID=abc / ext4 defaults 0 1\n";
const LINE = "10.0.0.5:/srv/nfs/grdata /grdata nfs hard,_netdev 0 0";
const FINDMNT = ["findmnt", "-rn", "-o", "TARGET,SOURCE", "-t", "nfs,nfs4"];
const ctx = (host: FakeHost) => ({
  hosts: hostMap(host),
  signal: new AbortController().signal,
  log: () => {},
  values: new RunValues(),
});

describe("undoing shared mounts", () => {
  it("removes only hactl's active line: comments, other entries and another server's mount of the same point stay", () => {
    const other = "10.0.0.9:/x /grdata nfs defaults 0 0";
    expect(withoutFstabEntries(`${FSTAB}${LINE}\n# ${LINE}\n${other}\n`, mounts)).toBe(`${FSTAB}# ${LINE}\n${other}\n`);
    expect(withoutFstabEntries(FSTAB, mounts)).toBe(FSTAB);
  });

  it("plans one step per reachable node, none without shared mounts or nodes", () => {
    const plan = unmountSharedMounts(spec, ["node-2"]);
    expect(describePlan(plan)).toContain(
      "umount /grdata (lazily if busy); remove its /etc/fstab line 10.0.0.5:/srv/nfs/grdata (backup kept)",
    );
    expect(unmountSharedMounts(spec, [])).toEqual([]);
    expect(unmountSharedMounts(specFrom(THREE_CP_ONE_WORKER), ["node-2"])).toEqual([]);
  });

  it("unmounts, detaches a busy mount lazily, writes fstab with a backup; a second run only reads", async () => {
    const host = new FakeHost("node-2")
      .withFile("/etc/fstab", `${FSTAB}${LINE}\n`)
      .on({ equal: FINDMNT }, { stdout: "/grdata 10.0.0.5:/srv/nfs/grdata\n" }, { code: 1 })
      .on({ equal: ["umount", "/grdata"] }, { code: 32, stderr: "umount: /grdata: target is busy.\n" })
      .on({ equal: ["umount", "-l", "/grdata"] }, { code: 0 });
    const step = unmountSharedMounts(spec, ["node-2"])[0]?.steps[0];
    expect(await step?.run(ctx(host))).toBe("changed");
    expect(host.lines).toEqual([FINDMNT.join(" "), "umount /grdata", "umount -l /grdata"]);
    expect(host.commands.slice(1).every((c) => c.sudo)).toBe(true);
    expect(host.files.get("/etc/fstab")).toBe(FSTAB);
    expect(host.written[0]?.options).toMatchObject({ backup: true, sudo: true, mode: 0o644 });
    expect(await step?.run(ctx(host))).toBe("unchanged");
    expect(host.written).toHaveLength(1);
  });
});

describe("hactl status: shared-mount drift", () => {
  const state = (fstab: string, mounted: [string, string][]) => ({
    fstab,
    mounted: new Map(mounted),
    exports: new Map(),
  });

  it("names a node whose mount or fstab line is missing, and a foreign mount; nothing where all is in place", () => {
    const done = state(`${FSTAB}${LINE}\n`, [["/grdata", "10.0.0.5:/srv/nfs/grdata"]]);
    const states = new Map([
      ["node-1", done],
      ["node-2", state(`${FSTAB}${LINE}\n`, [])],
      ["node-3", state(FSTAB, [["/grdata", "10.0.0.5:/srv/nfs/grdata"]])],
      ["worker-1", state(`${FSTAB}${LINE}\n`, [["/grdata", "10.0.0.9:/x"]])],
    ]);
    expect(sharedMountDrift(spec, states)).toEqual([
      "node-2: /grdata is not mounted (drift; run hactl install)",
      "node-3: /etc/fstab lacks hactl's line for /grdata (10.0.0.5:/srv/nfs/grdata) (drift; run hactl install)",
      "worker-1: /grdata has 10.0.0.9:/x mounted, not 10.0.0.5:/srv/nfs/grdata",
    ]);
    expect(sharedMountDrift(spec, new Map([["node-1", done]]))).toEqual([]);
  });
});
