import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { copyFileSync, readFileSync, readdirSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { labClusterYaml } from "../lab/cluster-yaml.mjs";
import { inNode, labDown, labUp, startNode, stopNode, type Lab, type LabNode } from "../lab/lab.mjs";
import { checksumLine, openBackup, packBackup, sha256 } from "../../src/phases/backup-archive.js";
import { hactl, workdir, writeSpec, type HactlRun } from "./hactl.js";

let lab: Lab;
let dir: string;
let spec: string;
const node = (i: number): LabNode => lab.nodes[i - 1] as LabNode;
const shown = (run: HactlRun): string => `${run.stdout}\n${run.stderr}`;

function deployment(name: string): string {
  return [
    "apiVersion: apps/v1",
    "kind: Deployment",
    `metadata: {name: ${name}, namespace: default}`,
    "spec:",
    "  replicas: 1",
    `  selector: {matchLabels: {app: ${name}}}`,
    `  template: {metadata: {labels: {app: ${name}}}, spec: {containers: [{name: ${name}, image: nginx}]}}`,
    "",
  ].join("\n");
}

async function kubectl(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return inNode(node(1), ["microk8s", "kubectl", ...args]);
}

async function apply(name: string): Promise<void> {
  const res = await inNode(node(1), ["microk8s", "kubectl", "apply", "-f", "-"], { input: deployment(name) });
  expect(res.code, res.stderr).toBe(0);
}

async function deploymentNames(): Promise<string[]> {
  const res = await kubectl("get", "deployments", "-n", "default", "-o", "json");
  return (JSON.parse(res.stdout) as { items: { metadata: { name: string } }[] }).items
    .map((d) => d.metadata.name)
    .sort();
}

/** The archive the run printed ("Backup written to PATH (...)"). */
function archiveOf(run: HactlRun): string {
  const m = /Backup written to (\S+) /.exec(run.stdout);
  expect(m, shown(run)).not.toBeNull();
  return (m as RegExpExecArray)[1] as string;
}

async function leftoverBackupDirs(): Promise<string> {
  const found: string[] = [];
  for (const i of [1, 2, 3])
    found.push((await inNode(node(i), ["sh", "-c", "ls -d /tmp/hactl-backup.* 2>/dev/null; true"])).stdout.trim());
  return found.filter(Boolean).join(" ");
}

beforeAll(async () => {
  lab = await labUp({ nodes: 4 });
  dir = workdir("backup");
  spec = writeSpec(dir, labClusterYaml(lab, { controlPlanes: 3, workers: 1 }));
  const run = await hactl(dir, ["install", "-f", spec, "--yes"]);
  expect(run.code, shown(run)).toBe(0);
});

afterAll(async () => {
  await labDown();
});

describe("MicroK8s backup and restore", () => {
  let archive: string;

  it("backs up to a checked archive (mode 0600, .sha256 beside it, manifest inside) and leaves nothing on the node", async () => {
    await apply("web");
    const started = Date.now();
    const run = await hactl(dir, ["backup", "-f", spec]);
    const seconds = (Date.now() - started) / 1000;
    expect(run.code, shown(run)).toBe(0);
    archive = archiveOf(run);
    expect(archive.startsWith(join(dir, "backups", "lab-"))).toBe(true);
    expect(statSync(archive).mode & 0o777).toBe(0o600);
    const data = readFileSync(archive);
    expect(run.stdout).toContain(`size     ${data.length} bytes`);
    expect(run.stdout).toContain(sha256(data));
    expect(readFileSync(`${archive}.sha256`, "utf8")).toBe(checksumLine(sha256(data), archive));
    const { manifest } = openBackup(data);
    expect(manifest.cluster).toBe("lab");
    expect(manifest.members.map((m) => m.name)).toEqual(["node-1", "node-2", "node-3", "node-4"]);
    expect(manifest.datastore.kind).toBe("microk8s-dbctl");
    expect(await leftoverBackupDirs()).toBe("");
    console.log(
      `backup figures: ${data.length} bytes, ${seconds.toFixed(1)} s (hactl backup -f cluster.yaml, 3 control planes + 1 worker)`,
    );
  });

  it("restores: the deleted Deployment is back, the one created after the backup is gone, the cluster is healthy", async () => {
    const del = await kubectl("delete", "deployment", "web", "-n", "default");
    expect(del.code, del.stderr).toBe(0);
    await apply("extra");
    expect(await deploymentNames()).toEqual(["extra"]);
    const started = Date.now();
    const run = await hactl(dir, ["restore", archive, "-f", spec, "--yes"]);
    const seconds = (Date.now() - started) / 1000;
    expect(run.code, shown(run)).toBe(0);
    expect(run.stdout).toContain("deployments/default/extra");
    expect(run.stdout).toMatch(/4\/4 nodes Ready, datastore healthy, API answers through https:\/\//);
    expect(await deploymentNames()).toEqual(["web"]);
    const status = await hactl(dir, ["status", "-f", spec]);
    expect(status.code, shown(status)).toBe(0);
    console.log(`restore figures: ${seconds.toFixed(1)} s (hactl restore FILE --yes)`);
  });

  it("refuses a damaged, an altered or another cluster's backup, and an unconfirmed restore, with exit 2, and changes nothing", async () => {
    await apply("marker");
    const before = await deploymentNames();
    const data = readFileSync(archive);

    const flipped = join(dir, "flipped.tar.gz");
    const bad = Buffer.from(data);
    const middle = Math.floor(bad.length / 2);
    bad.writeUInt8(bad.readUInt8(middle) ^ 0xff, middle);
    writeFileSync(flipped, bad);
    copyFileSync(`${archive}.sha256`, `${flipped}.sha256`);
    const r1 = await hactl(dir, ["restore", flipped, "-f", spec, "--yes"]);
    expect(r1.code, shown(r1)).toBe(2);
    expect(r1.stderr).toMatch(/SHA-256 does not match/);

    writeFileSync(`${flipped}.sha256`, checksumLine(sha256(bad), flipped));
    const r2 = await hactl(dir, ["restore", flipped, "-f", spec, "--yes"]);
    expect(r2.code, shown(r2)).toBe(2);
    expect(r2.stderr).toMatch(/damaged|checksum/);

    const opened = openBackup(data);
    const other = join(dir, "other.tar.gz");
    const files = [...opened.files]
      .filter(([name]) => name !== "manifest.json")
      .map(([name, content]) => ({ name, data: content }));
    const foreign = packBackup({ ...opened.manifest, cluster: "prod" }, files);
    writeFileSync(other, foreign);
    writeFileSync(`${other}.sha256`, checksumLine(sha256(foreign), other));
    const r3 = await hactl(dir, ["restore", other, "-f", spec, "--yes"]);
    expect(r3.code, shown(r3)).toBe(2);
    expect(r3.stderr).toMatch(/cluster "prod", cluster.yaml is "lab"/);

    const r4 = await hactl(dir, ["restore", archive, "-f", spec]);
    expect(r4.code, shown(r4)).toBe(2);
    expect(r4.stdout).toContain("deployments/default/marker");
    expect(r4.stderr).toMatch(/needs confirmation/);

    expect(await deploymentNames()).toEqual(before);
    expect(before).toContain("marker");
  });

  it("a restore whose control plane dies midway is finished by running it again", async () => {
    await inNode(node(1), [
      "sh",
      "-c",
      "mkdir -p /var/lib/hactl-kit/faults && touch /var/lib/hactl-kit/faults/hang-microk8s-dbctl-restore",
    ]);
    const running = hactl(dir, ["restore", archive, "-f", spec, "--yes", "--command-timeout", "40"]);
    await waitFor(
      async () =>
        (
          await inNode(node(1), ["sh", "-c", "pgrep -f '[d]bctl restore' >/dev/null && echo yes; true"])
        ).stdout.includes("yes"),
      60_000,
    );
    await stopNode("node-1");
    const failed = await running;
    expect(failed.code, shown(failed)).not.toBe(0);
    await startNode("node-1");
    await inNode(node(1), ["rm", "-f", "/var/lib/hactl-kit/faults/hang-microk8s-dbctl-restore"]);
    const resumed = await hactl(dir, ["restore", archive, "-f", spec, "--yes"], {
      env: { HACTL_LOCK_STALE_SECONDS: "5" },
    });
    expect(resumed.code, shown(resumed)).toBe(0);
    expect(resumed.stderr + resumed.stdout).toMatch(/did not finish/);
    expect(await deploymentNames()).toEqual(["web"]);
    expect(readdirSync(join(dir, "backups")).filter((f) => f.endsWith(".tar.gz"))).toHaveLength(1);
  });
});

async function waitFor(check: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new Error("condition not met in time");
}
