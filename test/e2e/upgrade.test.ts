// hactl upgrade on MicroK8s in the lab: held refreshes, a two-minor rolling upgrade under traffic through
// the VIP, refusals before any change, a failure mid-upgrade and its resumption, and snapd's auto-refresh.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { request } from "node:https";
import type { TLSSocket } from "node:tls";
import { labClusterYaml } from "../lab/cluster-yaml.mjs";
import { inNode, labDown, labUp, type Lab, type LabNode } from "../lab/lab.mjs";
import { probeLivez } from "../../src/actions/verify-api.js";
import { hactl, workdir, writeSpec } from "./hactl.js";
import { isReset } from "./lab-tls.js";

let lab: Lab;
let dir: string;
let spec: string;
const CPS = ["node-1", "node-2", "node-3"];
const ALL = [...CPS, "node-4"];
const node = (name: string): LabNode => lab.nodes.find((n) => n.name === name) as LabNode;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function snapRow(name: string): Promise<string> {
  return (
    (await inNode(name, ["snap", "list", "microk8s"])).stdout.split("\n").find((l) => l.startsWith("microk8s")) ?? ""
  );
}

interface KubeNodeView {
  metadata: { name: string; labels: Record<string, string> };
  spec?: { unschedulable?: boolean };
  status: { nodeInfo: { kubeletVersion: string }; conditions: { type: string; status: string }[] };
}

/** `kubectl get nodes -o json` from the first control plane that answers. */
async function kubeNodes(): Promise<KubeNodeView[]> {
  for (const cp of CPS) {
    // a control plane in the middle of its refresh may not answer in time: ask the next one
    const r = await inNode(cp, ["microk8s", "kubectl", "get", "nodes", "-o", "json"], { timeoutMs: 4000 }).catch(
      () => undefined,
    );
    if (r?.code === 0) return (JSON.parse(r.stdout) as { items: KubeNodeView[] }).items;
  }
  return [];
}

/** `snap refresh microk8s` runs on a node since `since` (epoch ms), from the kit's command log. */
async function refreshesSince(name: string, since: number): Promise<number> {
  const log = (await inNode(name, ["cat", "/var/log/hactl-kit/commands.jsonl"])).stdout;
  return log
    .split("\n")
    .filter(Boolean)
    .map((l) => JSON.parse(l) as { tool: string; sub: string; start: number })
    .filter((e) => e.tool === "snap" && e.sub === "refresh microk8s" && e.start >= since).length;
}

/**
 * One GET /livez through `host` on a fresh connection: "ok", or what went wrong with how far it got (TCP
 * connected, TLS done with which API server: its certificate names the node's address).
 */
function livez(host: string, port: number, timeoutMs: number): Promise<string> {
  return new Promise((resolve) => {
    let stage = "before connect";
    const req = request(
      { host, port, path: "/livez", rejectUnauthorized: false, timeout: timeoutMs, agent: false },
      (res) => {
        res.resume();
        resolve(res.statusCode === 200 ? "ok" : `HTTP ${res.statusCode ?? "?"} (${stage})`);
      },
    );
    req.on("socket", (socket: TLSSocket) => {
      socket.on("connect", () => (stage = "tcp connected"));
      socket.on(
        "secureConnect",
        () =>
          (stage = `tls done with ${socket.getPeerCertificate().subjectaltname?.match(/IP Address:(10\.77\.0\.\d+)/)?.[1] ?? "?"}`),
      );
    });
    req.on("timeout", () => req.destroy(Object.assign(new Error("timeout"), { code: "TIMEOUT" })));
    req.on("error", (e: NodeJS.ErrnoException) => resolve(`${e.code ?? e.message} (${stage})`));
    req.end();
  });
}

const ready = (n: KubeNodeView): boolean => n.status.conditions.some((c) => c.type === "Ready" && c.status === "True");

beforeAll(async () => {
  lab = await labUp({ nodes: 4 });
  dir = workdir("upgrade");
  spec = writeSpec(
    dir,
    `# Lab cluster for the upgrade tests (this comment must survive --to).\n${labClusterYaml(lab, { controlPlanes: 3, workers: 1 })}`,
  );
  const run = await hactl(dir, ["install", "-f", spec, "--yes"]);
  expect(run.code, `${run.stdout}\n${run.stderr}`).toBe(0);
}, 600_000);

afterAll(async () => {
  await labDown();
});

describe("hactl upgrade (MicroK8s)", () => {
  it("install holds refreshes on every node; status shows versions and holds; a re-run holds nothing again", async () => {
    for (const n of ALL)
      expect(await snapRow(n)).toMatch(/^microk8s\s+v1\.29\.15\s+\d+\s+1\.29\/stable\s+\S+\s+classic,held$/);
    const status = await hactl(dir, ["status", "-f", spec]);
    expect(status.code, `${status.stdout}\n${status.stderr}`).toBe(0);
    for (const n of ALL) expect(status.stdout).toMatch(new RegExp(`${n} .* v1\\.29\\.15 held `));
    expect(status.stdout).not.toContain("Warnings:");
    const dry = await hactl(dir, ["install", "-f", spec, "--dry-run"]);
    expect(dry.stdout).toContain("Nothing to do");
  });

  it("refuses a downgrade and a bad --to before any change (exit 2); --dry-run prints the path, the order and where the backup goes", async () => {
    const down = await hactl(dir, ["upgrade", "--to", "1.28", "-f", spec, "--yes"]);
    expect(down.code, `${down.stdout}\n${down.stderr}`).toBe(2);
    expect(down.stderr).toContain("refusing to upgrade to 1.28; nothing was changed");
    expect(down.stderr).toContain("1.28 is lower than 1.29 on node-1, node-2, node-3, node-4");
    const bad = await hactl(dir, ["upgrade", "--to", "1.30.2", "-f", spec, "--yes"]);
    expect(bad.code).toBe(2);
    const dry = await hactl(dir, ["upgrade", "--to", "1.31", "-f", spec, "--dry-run"]);
    expect(dry.code, `${dry.stdout}\n${dry.stderr}`).toBe(0);
    expect(dry.stdout).toContain("version path:  1.30 → 1.31");
    // node-1 holds the VIP: last in the first pass, first in the second (it takes the VIP back then).
    expect(dry.stdout).toContain("1.30: control planes one at a time: node-3 → node-2 → node-1");
    expect(dry.stdout).toContain("1.31: control planes one at a time: node-1 → node-3 → node-2");
    expect(dry.stdout).toContain("1.30: workers in batches: [node-4]");
    expect(dry.stdout).toContain(
      `Backup: the datastore is backed up before the first change, to ${join(dir, "backups")}/`,
    );
    expect(dry.stdout).toContain("snap refresh microk8s --channel=1.31/stable");
    for (const n of ALL) expect(await snapRow(n)).toContain("1.29/stable");
    expect((await kubeNodes()).every((n) => !n.spec?.unschedulable)).toBe(true);
  });

  it("upgrades two minors ahead while requests through the VIP all succeed and at most one control plane is out of service at a time", async () => {
    const vip = lab.vips[0] as string;
    await expect.poll(() => probeLivez(vip, 7443), { timeout: 30_000 }).toBe(true);
    let done = false;
    let requests = 0;
    const failed: string[] = [];
    const loop = (async () => {
      while (!done && requests < 20_000) {
        requests++;
        const at = new Date().toISOString();
        const outcome = await livez(vip, 7443, 2000);
        if (outcome !== "ok") failed.push(`${at} ${outcome}`);
        await sleep(100);
      }
    })();
    // A control plane is out of service while it is cordoned, NotReady or its API server does not answer.
    let maxOut = 0;
    const outSeen = new Set<string>();
    const poller = (async () => {
      while (!done) {
        const [nodes, apis] = await Promise.all([
          kubeNodes(),
          Promise.all(CPS.map((cp) => probeLivez(node(cp).address, 16443, 1500))),
        ]);
        const out = CPS.filter((cp, i) => {
          const k = nodes.find((n) => n.metadata.name === cp);
          return !apis[i] || (k !== undefined && (Boolean(k.spec?.unschedulable) || !ready(k)));
        });
        for (const cp of out) outSeen.add(cp);
        maxOut = Math.max(maxOut, out.length);
        await sleep(300);
      }
    })();
    const started = Date.now();
    const run = await hactl(dir, ["upgrade", "--to", "1.31", "-f", spec, "--yes"], { timeoutMs: 900_000 });
    const seconds = (Date.now() - started) / 1000;
    done = true;
    await Promise.all([loop, poller]);
    console.log(
      `upgrade 1.29 -> 1.31 (3 control planes, 1 worker): ${seconds.toFixed(1)} s, ${requests} requests through the VIP, ${failed.length} failed; at most ${maxOut} control plane(s) out of service at once`,
    );
    if (failed.length > 0) {
      for (const cp of CPS) {
        const vrrp = await inNode(cp, [
          "sh",
          "-c",
          "grep -h -E 'Entering|priority|Reload' /var/log/hactl-kit/keepalived.log | tail -n 12",
        ]);
        console.log(`${cp} keepalived:\n${vrrp.stdout}`);
      }
    }
    expect(run.code, `${run.stdout}\n${run.stderr}`).toBe(0);
    // The VIP moves twice (node-1 hands it over in the first pass and takes it back in the second): a
    // connection in flight at such an instant is reset by the new holder, which knows nothing of it (VRRP
    // moves an address, not connections; docs/upgrade.md). Nothing else may fail.
    expect(
      failed.filter((f) => !isReset(f)),
      `failed requests (hactl logs in ${dir}/state/hactl/logs)`,
    ).toEqual([]);
    expect(failed.length, failed.join("\n")).toBeLessThanOrEqual(2);
    expect(requests).toBeGreaterThan(50);
    expect(maxOut).toBe(1);
    expect([...outSeen].sort()).toEqual(CPS);
    for (const n of ALL) expect(await snapRow(n)).toMatch(/v1\.31\.9\s+\d+\s+1\.31\/stable\s+\S+\s+classic,held$/);
    const nodes = await kubeNodes();
    for (const n of nodes) {
      expect(n.status.nodeInfo.kubeletVersion).toBe("v1.31.9");
      expect(ready(n)).toBe(true);
      expect(n.spec?.unschedulable ?? false).toBe(false);
      expect(n.metadata.labels["hactl.dev/upgrade"]).toBeUndefined();
    }
    expect(readFileSync(spec, "utf8")).toMatch(/version: "?1\.31"?/);
    expect(readFileSync(spec, "utf8")).toContain(
      "# Lab cluster for the upgrade tests (this comment must survive --to).",
    );
    for (const cp of CPS) {
      const cfg = await inNode(cp, ["cat", "/etc/haproxy/haproxy.cfg"]);
      for (const other of CPS) expect(cfg.stdout).toContain(`${node(other).address}:16443`);
    }
    const again = await hactl(dir, ["upgrade", "-f", spec, "--yes"]);
    expect(again.code).toBe(0);
    expect(again.stdout).toContain("Nothing to do: every node runs MicroK8s 1.31");
  }, 900_000);

  it("stops at a node whose refresh fails, saying so, and the same command resumes", async () => {
    // Order: node-3, node-2, node-1 (the VIP holder last); node-2's refresh fails.
    await inNode("node-2", [
      "sh",
      "-c",
      "mkdir -p /var/lib/hactl-kit/faults && touch /var/lib/hactl-kit/faults/fail-snap-refresh",
    ]);
    const failed = await hactl(dir, ["upgrade", "--to", "1.32", "-f", spec, "--yes"], { timeoutMs: 600_000 });
    expect(failed.code, `${failed.stdout}\n${failed.stderr}`).toBe(1);
    expect(failed.stderr).toContain("[node-2]");
    expect(failed.stderr).toContain("the same command resumes where it stopped: hactl upgrade");
    expect(await snapRow("node-3")).toContain("1.32/stable");
    expect(await snapRow("node-2")).toContain("1.31/stable");
    const marked = (await kubeNodes()).find((n) => n.metadata.name === "node-2");
    expect(marked?.spec?.unschedulable).toBe(true);
    expect(marked?.metadata.labels["hactl.dev/upgrade"]).toBe("1.32");
    expect(readFileSync(spec, "utf8")).toMatch(/version: "?1\.31"?/);

    const resumeStarted = Date.now();
    const resumed = await hactl(dir, ["upgrade", "--to", "1.32", "-f", spec, "--yes"], { timeoutMs: 600_000 });
    expect(resumed.code, `${resumed.stdout}\n${resumed.stderr}`).toBe(0);
    // node-3 was done: the resumed run refreshes only node-2, node-1 and the worker.
    expect(await refreshesSince("node-3", resumeStarted)).toBe(0);
    for (const n of ["node-2", "node-1", "node-4"]) expect(await refreshesSince(n, resumeStarted)).toBe(1);
    for (const n of ALL) expect(await snapRow(n)).toContain("1.32/stable");
    expect((await kubeNodes()).every((n) => !n.spec?.unschedulable && ready(n))).toBe(true);
    expect(readFileSync(spec, "utf8")).toMatch(/version: "?1\.32"?/);
  }, 900_000);

  it("snapd's auto-refresh leaves held nodes untouched; an unheld node is refreshed and status warns", async () => {
    for (const n of ALL) await inNode(n, ["sh", "-c", "echo 1.33/stable > /var/lib/hactl-kit/auto-refresh"]);
    await sleep(8000);
    for (const n of ALL) expect(await snapRow(n)).toContain("1.32/stable");
    await inNode("node-4", ["snap", "refresh", "--unhold", "microk8s"]);
    await expect.poll(() => snapRow("node-4"), { timeout: 40_000, interval: 1000 }).toContain("1.33/stable");
    for (const n of ALL) await inNode(n, ["rm", "-f", "/var/lib/hactl-kit/auto-refresh"]);
    await expect
      .poll(async () => (await kubeNodes()).find((k) => k.metadata.name === "node-4")?.status.nodeInfo.kubeletVersion, {
        timeout: 30_000,
      })
      .toBe("v1.33.1");
    const status = await hactl(dir, ["status", "-f", spec]);
    expect(status.stdout).toContain("mixed Kubernetes versions: 1.32 on node-1, node-2, node-3; 1.33 on node-4");
    expect(status.stdout).toContain("MicroK8s refreshes are not held on node-4");
    expect(status.stdout).toMatch(/node-4 .* v1\.33\.1 NOT held/);
  }, 120_000);
});
