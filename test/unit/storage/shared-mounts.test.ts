// Issue 17.2: spec.storage.sharedMounts (schema and rules, preflight checks, the plan, the step bodies on FakeHost).
import { describe, expect, it } from "vitest";
import { describePlan } from "../../../src/core/plan.js";
import {
  exportFor,
  gatherSharedMountState,
  parseFindmnt,
  parseShowmount,
  type SharedMountState,
} from "../../../src/gather/shared-mounts.js";
import {
  fstabLine,
  nfsProbes,
  planSharedMounts,
  sharedMountChecks,
  withFstabEntry,
} from "../../../src/phases/shared-mounts.js";
import { formatProblems, parseSpec } from "../../../src/spec/index.js";
import { FakeHost, hostMap } from "../../fakes/fake-host.js";
import { allHealthyFacts, healthyFacts } from "../../fakes/facts.js";
import { THREE_CP_ONE_WORKER, specFrom } from "../../fakes/spec.js";
import { RunValues } from "../../../src/core/run-values.js";

const WITH_MOUNTS = `${THREE_CP_ONE_WORKER}  storage:
    sharedMounts:
      - { server: 10.0.0.5, path: /srv/nfs/grdata, mountPoint: /grdata, options: [nfsvers=4.1, hard] }
`;
const spec = specFrom(WITH_MOUNTS);
const grdata = spec.spec.storage?.sharedMounts[0] as NonNullable<typeof spec.spec.storage>["sharedMounts"][number];
const LINE = "10.0.0.5:/srv/nfs/grdata /grdata nfs nfsvers=4.1,hard,_netdev 0 0";
const FSTAB = "# /etc/fstab\nUUID=abc / ext4 defaults 0 1\n";

function problemsOf(text: string): string {
  return formatProblems(parseSpec(text, "c.yaml").problems, "c.yaml");
}

const state = (over: Partial<SharedMountState> = {}): SharedMountState => ({
  fstab: FSTAB,
  mounted: new Map(),
  exports: new Map([["10.0.0.5", { exports: ["/srv/nfs"] }]]),
  ...over,
});
const everywhere = (s: SharedMountState): Map<string, SharedMountState> =>
  new Map(spec.spec.nodes.map((n) => [n.name, s]));
const reaching = () =>
  new Map(
    spec.spec.nodes.map((n) => {
      const f = healthyFacts(spec, n.name);
      return [
        n.name,
        {
          ...f,
          reachable: new Set([...f.reachable, "10.0.0.5:2049"]),
          commands: new Set([...f.commands, "mount.nfs", "showmount"]),
        },
      ];
    }),
  );

describe("spec.storage.sharedMounts in cluster.yaml", () => {
  it("parses with defaults; files without storage stay valid", () => {
    expect(problemsOf(WITH_MOUNTS)).toBe("");
    expect(problemsOf(THREE_CP_ONE_WORKER)).toBe("");
    const plain = specFrom(WITH_MOUNTS.replace(", options: [nfsvers=4.1, hard]", ""));
    expect(plain.spec.storage?.sharedMounts[0]?.options).toEqual([]);
  });

  it("names the field and the fix for a relative path, a comma list of options and an unknown field", () => {
    expect(problemsOf(WITH_MOUNTS.replace("mountPoint: /grdata", "mountPoint: grdata"))).toMatch(
      /spec\.storage\.sharedMounts\[0\]\.mountPoint: must be an absolute path[\s\S]*fix: write the absolute path, e\.g\. mountPoint: \/grdata/,
    );
    expect(problemsOf(WITH_MOUNTS.replace("path: /srv/nfs/grdata", "path: /srv/../etc"))).toMatch(
      /sharedMounts\[0\]\.path: must be an absolute path/,
    );
    expect(problemsOf(WITH_MOUNTS.replace("[nfsvers=4.1, hard]", '["nfsvers=4.1,hard"]'))).toMatch(
      /sharedMounts\[0\]\.options\[0\]: must be one mount option[\s\S]*fix: write one option per list item, e\.g\. options: \[nfsvers=4\.1, hard\]/,
    );
    expect(problemsOf(WITH_MOUNTS.replace("mountPoint:", "mountpoint:"))).toMatch(/mountpoint/);
  });

  it("refuses a system directory, overlapping mount points and a VIP as the server", () => {
    const two = WITH_MOUNTS.replace(
      "hard] }\n",
      "hard] }\n      - { server: 10.0.0.100, path: /x, mountPoint: /grdata/sub }\n      - { server: 10.0.0.5, path: /y, mountPoint: /etc }\n",
    );
    const out = problemsOf(two);
    expect(out).toMatch(/sharedMounts\[1\]\.server: 10\.0\.0\.100 is a VIP of this cluster/);
    expect(out).toMatch(/sharedMounts\[1\]\.mountPoint: \/grdata\/sub overlaps sharedMounts\[0\]\.mountPoint \/grdata/);
    expect(out).toMatch(
      /sharedMounts\[2\]\.mountPoint: \/etc is a system directory[\s\S]*fix: use a directory of its own/,
    );
  });
});

describe("fstab, findmnt and showmount", () => {
  it("one fstab line per mount point, _netdev added; replaced in place, appended once, comments kept", () => {
    expect(fstabLine(grdata)).toBe(LINE);
    expect(withFstabEntry(FSTAB, grdata)).toBe(`${FSTAB}${LINE}\n`);
    expect(withFstabEntry(withFstabEntry(FSTAB, grdata), grdata)).toBe(`${FSTAB}${LINE}\n`);
    const old = `${FSTAB}old:/x /grdata nfs defaults 0 0\n# old:/y /grdata nfs defaults 0 0\nold:/z /grdata nfs ro 0 0\n`;
    expect(withFstabEntry(old, grdata)).toBe(`${FSTAB}${LINE}\n# old:/y /grdata nfs defaults 0 0\n`);
  });

  it("reads findmnt's raw lines and showmount's export list, and finds the export that holds a path", () => {
    expect(parseFindmnt("/grdata 10.0.0.5:/srv/nfs/grdata\n/mnt/a\\x20b srv:/a\n")).toEqual(
      new Map([
        ["/grdata", "10.0.0.5:/srv/nfs/grdata"],
        ["/mnt/a b", "srv:/a"],
      ]),
    );
    expect(() => parseFindmnt("/grdata\n")).toThrow(/findmnt -rn -o TARGET,SOURCE -t nfs,nfs4/);
    expect(parseShowmount("s", "/srv/nfs  10.0.0.0/24\n/data *\n")).toEqual(["/srv/nfs", "/data"]);
    expect(() => parseShowmount("s", "clnt_create: RPC: timed out\n")).toThrow(/showmount -e --no-headers s/);
    expect(exportFor("/srv/nfs/grdata", ["/srv", "/srv/nfs"])).toBe("/srv/nfs");
    expect(exportFor("/srv/nfsx", ["/srv/nfs"])).toBeUndefined();
  });

  it("gathers fstab, NFS mounts and export lists with read-only commands (no showmount before nfs-common)", async () => {
    const host = new FakeHost("node-1")
      .withFile("/etc/fstab", FSTAB)
      .on({ prefix: ["findmnt"] }, { code: 1 })
      .on({ equal: ["showmount", "-e", "--no-headers", "10.0.0.5"] }, { stdout: "/srv/nfs *\n" });
    expect(await gatherSharedMountState(host, [grdata.server], true)).toEqual(state());
    const without = new FakeHost("node-2").on(
      { prefix: ["findmnt"] },
      { stdout: "/grdata 10.0.0.5:/srv/nfs/grdata\n" },
    );
    const s = await gatherSharedMountState(without, [grdata.server], false);
    expect(s.exports.size).toBe(0);
    expect(without.lines).toEqual(["findmnt -rn -o TARGET,SOURCE -t nfs,nfs4"]);
  });
});

describe("preflight for shared mounts", () => {
  it("probes the server's port 2049 from every node, not from external LB hosts", () => {
    expect(nfsProbes(spec, "worker-1")).toEqual(["10.0.0.5:2049"]);
    expect(nfsProbes(spec, "lb-1")).toEqual([]);
  });

  it("passes when 2049 answers and the export holds the path; fails with a fix when not", () => {
    const ok = sharedMountChecks(spec, reaching(), everywhere(state()));
    expect(ok.map((c) => [c.node, c.status])).toEqual(spec.spec.nodes.map((n) => [n.name, "ok"]));
    expect(ok[0]?.message).toBe("10.0.0.5:2049 answers and exports /srv/nfs/grdata");

    const unreachable = sharedMountChecks(spec, allHealthyFacts(spec), everywhere(state()));
    expect(unreachable[0]).toMatchObject({ status: "fail", message: "cannot reach the NFS server 10.0.0.5:2049" });
    expect(unreachable[0]?.fix).toMatch(/open TCP 2049 from the nodes/);

    const other = sharedMountChecks(
      spec,
      reaching(),
      everywhere(state({ exports: new Map([["10.0.0.5", { exports: ["/data"] }]]) })),
    );
    expect(other[0]).toMatchObject({
      status: "fail",
      message: "10.0.0.5 does not export /srv/nfs/grdata (it exports /data)",
    });
    expect(other[0]?.fix).toMatch(/\/etc\/exports, then exportfs -ra/);
  });

  it("warns where the export list cannot be read yet or at all, and fails on something else mounted there", () => {
    const notYet = sharedMountChecks(spec, reaching(), everywhere(state({ exports: new Map() })));
    expect(notYet[0]).toMatchObject({ status: "warn" });
    expect(notYet[0]?.message).toMatch(/read once nfs-common \(showmount\) is installed/);
    const v4only = sharedMountChecks(
      spec,
      reaching(),
      everywhere(state({ exports: new Map([["10.0.0.5", { error: "rpc mount export: RPC: Unable to receive" }]]) })),
    );
    expect(v4only[0]?.message).toMatch(/does not list its exports \(showmount: rpc mount export/);
    const foreign = sharedMountChecks(
      spec,
      reaching(),
      everywhere(state({ mounted: new Map([["/grdata", "other:/x"]]) })),
    );
    expect(foreign.find((c) => c.status === "fail")?.message).toBe(
      "/grdata already has other:/x mounted, not 10.0.0.5:/srv/nfs/grdata",
    );
  });
});

describe("planSharedMounts", () => {
  const done = state({ fstab: `${FSTAB}${LINE}\n`, mounted: new Map([["/grdata", "10.0.0.5:/srv/nfs/grdata"]]) });

  it("plans the NFS client where mount.nfs is missing, the fstab line and the mount, then one shared-file check", () => {
    const facts = reaching();
    const f = facts.get("worker-1");
    if (f) f.commands.delete("mount.nfs");
    const plan = planSharedMounts(
      spec,
      facts,
      new Map([...everywhere(done), ["node-3", state()], ["worker-1", state()]]),
    );
    expect(plan[0]?.steps.map((s) => s.id)).toEqual(["shared-mounts:node-3", "shared-mounts:worker-1"]);
    expect(plan[1]?.steps.map((s) => [s.id, s.node])).toEqual([["shared-check:/grdata", "node-3"]]);
    const text = describePlan(plan);
    expect(text).toContain("worker-1: NFS mounts /grdata\n      apt-get install nfs-common (mount.nfs is missing)");
    expect(text).toContain(`/etc/fstab: ${LINE}; mount /grdata unless mounted`);
    // written where it was just mounted (the new node of an add-node), read on another node
    expect(text).toContain("write /grdata/.hactl-shared-check on node-3, read it on node-1, remove it");
  });

  it("has nothing to do where every node has the line and the mount", () => {
    expect(planSharedMounts(spec, reaching(), everywhere(done)).every((p) => p.steps.length === 0)).toBe(true);
    expect(planSharedMounts(specFrom(THREE_CP_ONE_WORKER), reaching(), new Map())).toEqual([]);
  });

  const ctx = (hosts: FakeHost[]) => ({
    hosts: hostMap(...hosts),
    signal: new AbortController().signal,
    log: () => {},
    values: new RunValues(),
  });

  it("the node step writes fstab with a backup, checks the export, creates the mount point and mounts it; a second run only reads", async () => {
    const node = new FakeHost("node-3")
      .withFile("/etc/fstab", FSTAB)
      .on({ equal: ["showmount", "-e", "--no-headers", "10.0.0.5"] }, { stdout: "/srv/nfs *\n" })
      .on({ equal: ["mkdir", "-p", "/grdata"] }, { code: 0 })
      .on({ equal: ["mount", "/grdata"] }, { code: 0 });
    const step = planSharedMounts(spec, reaching(), new Map([...everywhere(done), ["node-3", state()]]))[0]?.steps[0];
    expect(await step?.run(ctx([node]))).toBe("changed");
    expect(node.files.get("/etc/fstab")).toBe(`${FSTAB}${LINE}\n`);
    expect(node.written[0]?.options).toMatchObject({ backup: true, sudo: true, mode: 0o644 });
    expect(node.lines).toEqual(["showmount -e --no-headers 10.0.0.5", "mkdir -p /grdata", "mount /grdata"]);
    expect(node.commands.every((c) => c.sudo || c.argv[0] === "showmount")).toBe(true);

    const again = planSharedMounts(spec, reaching(), new Map([...everywhere(done), ["node-3", done]]));
    expect(again[0]?.steps).toEqual([]);
  });

  it("refuses to mount a path the server does not export, and explains a kernel without NFS", async () => {
    const wrongExport = new FakeHost("node-3")
      .withFile("/etc/fstab", FSTAB)
      .on({ prefix: ["showmount"] }, { stdout: "/data *\n" });
    const step = planSharedMounts(spec, reaching(), new Map([...everywhere(done), ["node-3", state()]]))[0]?.steps[0];
    await expect(step?.run(ctx([wrongExport]))).rejects.toThrow(
      "10.0.0.5 does not export /srv/nfs/grdata (it exports /data)",
    );

    const noNfs = new FakeHost("node-3")
      .withFile("/etc/fstab", FSTAB)
      .on({ prefix: ["showmount"] }, { code: 1, stderr: "clnt_create: RPC: Program not registered\n" })
      .on({ prefix: ["mkdir"] }, { code: 0 })
      .on({ equal: ["mount", "/grdata"] }, { code: 32, stderr: "mount.nfs: No such device\n" });
    const err = await step?.run(ctx([noNfs])).catch((e: unknown) => e);
    expect(err).toMatchObject({
      message: "mount /grdata (10.0.0.5:/srv/nfs/grdata) failed: mount.nfs: No such device",
    });
    expect(err).toMatchObject({ remedy: expect.stringContaining("no NFS client") });
  });

  it("the check writes a token on one node, reads the same on the other, removes it; a local directory fails", async () => {
    const shared = new Map<string, string>();
    const nfsHost = (name: string): FakeHost => {
      const h = new FakeHost(name).on({ prefix: ["rm", "-f"] }, { code: 0 });
      h.writeFile = async (path, content) => {
        shared.set(path, String(content));
        return { changed: true };
      };
      h.readFile = async (path) => shared.get(path);
      return h;
    };
    const check = planSharedMounts(spec, reaching(), everywhere(state()))[1]?.steps[0];
    expect(await check?.run(ctx([nfsHost("node-1"), nfsHost("node-2")]))).toBe("unchanged");
    const local = [new FakeHost("node-1").on({ prefix: ["rm", "-f"] }, { code: 0 }), new FakeHost("node-2")];
    await expect(check?.run(ctx(local))).rejects.toThrow("/grdata: a file written on node-1 is missing on node-2");
  });
});
