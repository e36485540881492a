// Issue 17.3: gateway nodes with a web VIP of their own, on one 4-node MicroK8s lab and one install:
// node-3 (control plane) and node-4 (worker) are the gateway nodes. Issue 17.2: shared NFS mounts against a
// real NFS server (nfs-ganesha with rpcbind inside node-4's namespaces), and the NFS StorageClass against it. Run with
// `npm test -- test/e2e/gateway-storage.test.ts`; it prints the failover figure.
import { readFileSync } from "node:fs";
import http from "node:http";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { labClusterYaml } from "../lab/cluster-yaml.mjs";
import { describeFailover, measureFailover, vipHolders, waitSteady, type Target } from "../lab/failover.mjs";
import { inNode, labDown, labUp, stopNode, type Lab, type LabNode } from "../lab/lab.mjs";
import { eventually } from "../kit/helpers.js";
import { hactl, reportDocument, workdir, writeSpec } from "./hactl.js";

/** As failover.test.ts: the issue's 4 s, doubled for this machine's 2 shared cores. */
const LIMIT_MS = 8000;
const STEADY = 20;

let lab: Lab;
let dir: string;
let spec: string;
let apiVip: string;
let webVip: string;
let web: Target;

const byName = (name: string): LabNode => lab.nodes.find((n) => n.name === name) as LabNode;

/** GET / through the web VIP on a fresh connection: the kit's web entry answers "app on NODE". */
function servedBy(host: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host, port: 80, path: "/", agent: false, timeout: 3000 }, (res) => {
      let body = "";
      res.on("data", (c: Buffer) => (body += c.toString()));
      res.on("end", () => resolve(/app on (\S+?)</.exec(body)?.[1] ?? `HTTP ${res.statusCode ?? 0}`));
    });
    req.on("timeout", () => req.destroy(new Error("no answer")));
    req.on("error", reject);
  });
}

/** The web backends of a node's haproxy.cfg: `server NAME ADDRESS:PORT check` lines after `backend web`. */
async function webBackends(n: LabNode): Promise<string[]> {
  const cfg = (await inNode(n, ["cat", "/etc/haproxy/haproxy.cfg"])).stdout;
  const section = cfg.split(/^backend web$/m)[1]?.split(/^\S/m)[0] ?? "";
  return [...section.matchAll(/^\s+server (\S+) (\S+) check/gm)].map((m) => `${m[1]} ${m[2]}`);
}

beforeAll(async () => {
  lab = await labUp({ nodes: 4 });
  [apiVip, webVip] = lab.vips as [string, string];
  web = { scheme: "http", host: webVip, port: 80, path: "/", method: "HEAD" };
  dir = workdir("gateway-storage");
  const yaml = labClusterYaml(lab, { controlPlanes: 3, workers: 1 })
    .replace(/(name: node-[34],[^}]*?) }/g, "$1, gateway: true }")
    .replace(
      "  loadBalancer:\n",
      "  loadBalancer:\n    web: { enabled: true, vip: WEB_VIP }\n".replace("WEB_VIP", webVip),
    );
  spec = writeSpec(dir, yaml);
  const run = await hactl(dir, ["install", "-f", spec, "--yes"]);
  expect(run.code, `${run.stdout}\n${run.stderr}`).toBe(0);
  expect(await waitSteady(web, { count: 5, withinMs: 20_000 })).toBe(true);
}, 300_000);

afterAll(async () => {
  await stopNfsServer();
  await labDown();
});

/** nfs-ganesha (NFSv3 and v4, FSAL VFS) exporting /tmp/nfs-export of node-4, and the rpcbind it registers with. */
const GANESHA_CONF = `NFS_CORE_PARAM { Protocols = 3, 4; Enable_NLM = false; Enable_RQUOTA = false; }
NFSV4 { Graceless = true; }
EXPORT { Export_Id = 1; Path = /tmp/nfs-export; Pseudo = /tmp/nfs-export; Access_Type = RW; Squash = No_Root_Squash; Protocols = 3, 4; FSAL { Name = VFS; } }
`;
let nfsPids: string[] = [];

async function startNfsServer(n: LabNode): Promise<void> {
  const script = [
    "mkdir -p /tmp/nfs-export/grdata /run/ganesha",
    "cat > /tmp/ganesha.conf",
    "rpcbind -f -w >/dev/null 2>&1 & echo $!",
    "sleep 0.5",
    "ganesha.nfsd -F -f /tmp/ganesha.conf -L /tmp/ganesha.log >/dev/null 2>&1 & echo $!",
  ].join("\n");
  const r = await inNode(n, ["sh", "-c", script], { input: GANESHA_CONF });
  expect(r.code, r.stderr).toBe(0);
  nfsPids = r.stdout.trim().split("\n");
  const listed = await eventually(
    async () => (await inNode(n, ["showmount", "-e", "--no-headers", n.address])).stdout.includes("/tmp/nfs-export"),
    20_000,
    500,
  );
  expect(listed).toBe(true);
}

async function stopNfsServer(): Promise<void> {
  if (nfsPids.length > 0) await inNode(byName("node-4"), ["kill", ...nfsPids.reverse()]).catch(() => undefined);
  nfsPids = [];
}

const mountsYaml = (mounts: string[]): string =>
  `  storage:\n    sharedMounts:\n${mounts.map((m) => `      - ${m}\n`).join("")}`;

describe("shared NFS mounts (issue 17.2) against nfs-ganesha on node-4", () => {
  // The kernel here has no NFS client (docs/testing.md), so the mount itself fails; everything before it is real.
  it("preflight from every node: 2049 answers and the export holds the path; the dry run plans fstab, mount and the shared-file check", async () => {
    await startNfsServer(byName("node-4"));
    const server = byName("node-4").address;
    const yaml =
      readFileSync(spec, "utf8") +
      mountsYaml([`{ server: ${server}, path: /tmp/nfs-export/grdata, mountPoint: /grdata }`]);
    const withMounts = writeSpec(dir, yaml, "storage.yaml");
    const run = await hactl(dir, ["install", "-f", withMounts, "--dry-run"]);
    expect(run.code, `${run.stdout}\n${run.stderr}`).toBe(0);
    const ok = run.stdout
      .split("\n")
      .filter((l) => l.includes(`${server}:2049 answers and exports /tmp/nfs-export/grdata`));
    expect(ok).toHaveLength(4);
    expect(run.stdout).toContain(
      `/etc/fstab: ${server}:/tmp/nfs-export/grdata /grdata nfs _netdev 0 0; mount /grdata unless mounted`,
    );
    expect(run.stdout).toContain("write /grdata/.hactl-shared-check on node-1, read it on node-2, remove it");
  }, 60_000);

  it("preflight fails with the fix for a path that is not exported and a server that does not answer on 2049", async () => {
    const server = byName("node-4").address;
    const silent = byName("node-1").address;
    const yaml =
      readFileSync(spec, "utf8") +
      mountsYaml([
        `{ server: ${server}, path: /srv/other, mountPoint: /grdata }`,
        `{ server: ${silent}, path: /data, mountPoint: /data }`,
      ]);
    const run = await hactl(dir, ["install", "-f", writeSpec(dir, yaml, "storage-bad.yaml"), "--dry-run"]);
    expect(run.code).not.toBe(0);
    expect(run.stdout).toContain(`${server} does not export /srv/other (it exports /tmp/nfs-export)`);
    expect(run.stdout).toContain("a line in /etc/exports, then exportfs -ra");
    expect(run.stdout).toContain(`cannot reach the NFS server ${silent}:2049`);
    expect(`${run.stdout}${run.stderr}`).toMatch(/preflight checks failed; nothing was changed/);
  }, 60_000);

  it("install writes the fstab line on every node and stops at the mount with the kernel's reason; status reports the drift", async () => {
    const server = byName("node-4").address;
    const run = await hactl(dir, ["install", "-f", join(dir, "storage.yaml"), "--yes"]);
    const out = `${run.stdout}\n${run.stderr}`;
    expect(run.code, out).not.toBe(0);
    expect(out).toContain(`mount /grdata (${server}:/tmp/nfs-export/grdata) failed: mount.nfs: No such device`);
    expect(out).toContain("no NFS client");
    for (const n of lab.nodes) {
      const fstab = (await inNode(n, ["cat", "/etc/fstab"])).stdout;
      expect(fstab.split("\n").filter((l) => l.includes(" /grdata "))).toEqual([
        `${server}:/tmp/nfs-export/grdata /grdata nfs _netdev 0 0`,
      ]);
    }
    // status reads every node's mounts: none is mounted (drift); node-4 also loses its fstab line
    const node4 = byName("node-4");
    await inNode(node4, ["sh", "-c", "grep -v ' /grdata ' /etc/fstab > /etc/fstab.new; mv /etc/fstab.new /etc/fstab"]);
    const status = await hactl(dir, ["status", "-f", join(dir, "storage.yaml"), "-o", "json"]);
    const problems = reportDocument<{ problems: string[] }>(status).problems.filter((p) => p.includes("/grdata"));
    expect(problems).toEqual([
      ...lab.nodes.map((n) => `${n.name}: /grdata is not mounted (drift; run hactl install)`),
      `node-4: /etc/fstab lacks hactl's line for /grdata (${server}:/tmp/nfs-export/grdata) (drift; run hactl install)`,
    ]);
    for (const n of lab.nodes) {
      await inNode(n, ["sh", "-c", "grep -v ' /grdata ' /etc/fstab > /etc/fstab.new; mv /etc/fstab.new /etc/fstab"]);
    }
    await inNode(byName("node-1"), ["rmdir", "/grdata"]);
  }, 60_000);
});

describe("the NFS StorageClass (issue 17.2): csi-driver-nfs, the class and a claim that binds against nfs-ganesha", () => {
  const kubectl = (args: string[], input?: string) =>
    inNode(byName("node-1"), ["microk8s", "kubectl", ...args], input === undefined ? {} : { input });

  // the server the shared-mount tests started keeps running (a restart right after a stop can find 2049 still taken)
  it("install deploys the driver with microk8s helm3 and the class, verifies a claim binds; a second run plans nothing", async () => {
    if (nfsPids.length === 0) await startNfsServer(byName("node-4"));
    const server = byName("node-4").address;
    const yaml = `${readFileSync(spec, "utf8")}  storage:\n    nfs:\n      server: ${server}\n      path: /tmp/nfs-export\n      storageClass: { name: nfs-csi, default: true }\n      mountOptions: [nfsvers=4.1]\n`;
    const nfsSpec = writeSpec(dir, yaml, "nfs.yaml");
    const dry = await hactl(dir, ["install", "-f", nfsSpec, "--dry-run"]);
    expect(dry.code, `${dry.stdout}\n${dry.stderr}`).toBe(0);
    expect(
      dry.stdout.split("\n").filter((l) => l.includes(`${server}:2049 answers and exports /tmp/nfs-export`)),
      dry.stdout,
    ).toHaveLength(4);
    expect(dry.stdout).toContain("--set kubeletDir=/var/snap/microk8s/common/var/lib/kubelet");
    expect(dry.stdout).toContain("create PersistentVolumeClaim default/hactl-nfs-check");

    const run = await hactl(dir, ["install", "-f", nfsSpec, "--yes"]);
    expect(run.code, `${run.stdout}\n${run.stderr}`).toBe(0);
    expect(run.stdout).toMatch(/a PersistentVolumeClaim of nfs-csi binds/);
    const sc = await kubectl([
      "get",
      "storageclass",
      "nfs-csi",
      "-o",
      "jsonpath={.provisioner} {.parameters.server}:{.parameters.share} {.mountOptions[*]}",
    ]);
    expect(sc.stdout).toBe(`nfs.csi.k8s.io ${server}:/tmp/nfs-export nfsvers=4.1`);
    expect((await kubectl(["get", "pvc", "-A", "-o", "name"])).stdout.trim()).toBe("");
    expect(
      (
        await kubectl([
          "get",
          "daemonset",
          "csi-nfs-node",
          "-n",
          "kube-system",
          "-o",
          "jsonpath={.spec.template.spec.volumes[0].hostPath.path}",
        ])
      ).stdout,
    ).toBe("/var/snap/microk8s/common/var/lib/kubelet/pods");

    const again = await hactl(dir, ["install", "-f", nfsSpec, "--yes"]);
    expect(again.code, `${again.stdout}\n${again.stderr}`).toBe(0);
    expect(again.stdout).toContain("Nothing to do");
  }, 180_000);

  it("a claim of a class whose share is not exported stays Pending with the provisioner's reason", async () => {
    const server = byName("node-4").address;
    const manifests = JSON.stringify({
      apiVersion: "v1",
      kind: "List",
      items: [
        {
          apiVersion: "storage.k8s.io/v1",
          kind: "StorageClass",
          metadata: { name: "nfs-bad" },
          provisioner: "nfs.csi.k8s.io",
          parameters: { server, share: "/srv/none" },
        },
        {
          apiVersion: "v1",
          kind: "PersistentVolumeClaim",
          metadata: { name: "bad", namespace: "default" },
          spec: {
            accessModes: ["ReadWriteMany"],
            storageClassName: "nfs-bad",
            resources: { requests: { storage: "1Mi" } },
          },
        },
      ],
    });
    expect((await kubectl(["apply", "-f", "-"], manifests)).code).toBe(0);
    expect((await kubectl(["get", "pvc", "bad", "-o", "jsonpath={.status.phase}"])).stdout).toBe("Pending");
    const events = await kubectl([
      "get",
      "events",
      "--field-selector",
      "involvedObject.name=bad",
      "-o",
      "jsonpath={.items[*].reason}",
    ]);
    expect(events.stdout).toBe("ProvisioningFailed");
    // kubectl's tables: the claim Pending without a volume, the default class marked, the event's reason
    const table = (await kubectl(["get", "pvc", "bad"])).stdout.split("\n");
    expect(table[0]).toMatch(
      /^NAME\s+STATUS\s+VOLUME\s+CAPACITY\s+ACCESS MODES\s+STORAGECLASS\s+VOLUMEATTRIBUTESCLASS\s+AGE$/,
    );
    expect(table[1]).toMatch(/^bad\s+Pending\s+nfs-bad\s+<unset>\s+\d+s$/);
    expect((await kubectl(["get", "storageclass"])).stdout).toMatch(
      /\nnfs-csi \(default\)\s+nfs\.csi\.k8s\.io\s+Delete\s+Immediate\s+false\s+\S+\n/,
    );
    expect((await kubectl(["get", "events"])).stdout).toMatch(
      /Warning\s+ProvisioningFailed\s+persistentvolumeclaim\/bad\s+failed to provision/,
    );
    await kubectl(["delete", "-f", "-"], manifests);
  }, 60_000);
});

describe("gateway nodes with their own web VIP", () => {
  // the text form of the same report is unit-tested (test/unit/gateway), one status run is enough here
  it("the first gateway node holds the web VIP, the first control plane the API VIP, and status says so", async () => {
    expect(await vipHolders(lab.nodes, webVip)).toEqual(["node-3"]);
    expect(await vipHolders(lab.nodes, apiVip)).toEqual(["node-1"]);
    const status = await hactl(dir, ["status", "-f", spec, "-o", "json"]);
    const report = reportDocument<{ webVip?: { address: string; holders: string[] }; problems: string[] }>(status);
    expect(report.webVip).toEqual({ address: webVip, holders: ["node-3"] });
    expect(report.problems).toEqual([]);
  }, 30_000);

  it("haproxy balances the web port to the gateway nodes only; the other control planes serve no web port", async () => {
    const gateways = [`node-3 ${byName("node-3").address}:80`, `node-4 ${byName("node-4").address}:80`];
    expect(await webBackends(byName("node-3"))).toEqual(gateways);
    expect(await webBackends(byName("node-4"))).toEqual(gateways);
    expect(await webBackends(byName("node-1"))).toEqual([]);
    const seen = new Set<string>();
    for (let i = 0; i < 12; i++) seen.add(await servedBy(webVip));
    expect([...seen].sort()).toEqual(["node-3", "node-4"]);
  }, 30_000);

  it(`the web VIP moves to the other gateway node and web traffic is steady within ${LIMIT_MS / 1000} s when its holder is powered off`, async () => {
    const r = await measureFailover({ target: web, stop: () => stopNode(byName("node-3")), count: STEADY });
    console.log(`gateway failover: web VIP holder node-3 powered off: ${describeFailover(r)}`);
    expect(await eventually(async () => (await vipHolders(lab.nodes, webVip)).join() === "node-4", 5000, 200)).toBe(
      true,
    );
    expect(r.steady).toBe(true);
    expect(r.recoveredMs).toBeLessThan(LIMIT_MS);
    expect(await servedBy(webVip)).toBe("node-4");
    expect(await vipHolders(lab.nodes, apiVip)).toEqual(["node-1"]);
  }, 60_000);
});
