import { readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { labClusterYaml, labSecretEnv } from "../lab/cluster-yaml.mjs";
import { inNode, labDown, labUp, type Lab, type LabNode } from "../lab/lab.mjs";
import { bundleManifestSchema, nodeBundleDir, parseChecksumLine } from "../../src/bundle/manifest.js";
import { hactl, workdir, writeSpec } from "./hactl.js";
import { copyToJumpHost, NO_NODE_PATH, singleFileHactl, withoutNode } from "./single-file.js";

const kitWorkstation = fileURLToPath(new URL("../kit/workstation", import.meta.url));

let lab: Lab;
let dir: string;
let single: string[];
let bundle: string;
let spec: string;

const node = (i: number): LabNode => lab.nodes[i - 1] as LabNode;

/** The bundle's manifest: the first member of the tar (written by hactl bundle). */
function manifestOf(path: string) {
  const head = readFileSync(path).subarray(0, 64 * 1024);
  const size = parseInt(head.subarray(124, 136).toString("ascii").replace(/\0.*$/, "").trim(), 8);
  return bundleManifestSchema.parse(JSON.parse(head.subarray(512, 512 + size).toString("utf8")));
}

/** What each node's kit saw: store fetches and registry pulls (must be none), and the snap and microk8s commands it ran. */
async function kitLog(n: LabNode): Promise<{ fetches: string; snap: string[]; microk8s: string[] }> {
  const fetches = await inNode(n, ["sh", "-c", "cat /var/log/hactl-kit/store-fetches.log 2>/dev/null; true"]);
  const cmds = await inNode(n, ["sh", "-c", "cat /var/log/hactl-kit/commands.jsonl 2>/dev/null; true"]);
  const all = cmds.stdout
    .trim()
    .split("\n")
    .filter(Boolean)
    .map((l) => JSON.parse(l) as { tool: string; sub: string });
  const of = (tool: string): string[] => all.filter((c) => c.tool === tool).map((c) => c.sub);
  return { fetches: fetches.stdout, snap: of("snap"), microk8s: of("microk8s") };
}

beforeAll(async () => {
  const [up, exe] = await Promise.all([labUp({ nodes: 4 }), singleFileHactl()]);
  lab = up;
  dir = workdir("airgap");
  single = withoutNode(copyToJumpHost(exe, dir));
  bundle = join(dir, "demo-1.29.bundle");
  // hostpath-storage is an addon the install enables (dns and ha-cluster come with MicroK8s)
  const extra = `  airgap: { bundle: ${bundle} }\n  addons: { hostpathStorage: true }`;
  spec = writeSpec(dir, labClusterYaml(lab, { name: "demo", web: true, extra }));
}, 180_000);

afterAll(async () => {
  await labDown();
});

describe("offline bundle and the single-file hactl", () => {
  it("hactl bundle collects MicroK8s and its base snap with assertions, the addons' images, a manifest and FILE.sha256", async () => {
    const run = await hactl(dir, ["bundle", "-f", spec, "--out", bundle], {
      env: { PATH: `${kitWorkstation}:${process.env.PATH ?? ""}` },
    });
    expect(run.code, `${run.stdout}\n${run.stderr}`).toBe(0);
    const manifest = manifestOf(bundle);
    expect(manifest.distribution).toEqual({ type: "microk8s", version: "1.29" });
    expect(manifest.files.map((f) => f.name.replace(/_\d+\./, "_REV.")).sort()).toEqual([
      "core22_REV.assert",
      "core22_REV.snap",
      "dns-images.tar",
      "ha-cluster-images.tar",
      "hostpath-storage-images.tar",
      "microk8s_REV.assert",
      "microk8s_REV.snap",
      "sandbox-images.tar",
    ]);
    expect(manifest.files.find((f) => f.of === "hostpath-storage")).toMatchObject({
      kind: "images",
      images: ["docker.io/cdkbot/hostpath-provisioner:1.5.0", "docker.io/library/busybox:1.28.4"],
    });
    expect(parseChecksumLine(readFileSync(`${bundle}.sha256`, "utf8"))).toMatch(/^[0-9a-f]{64}$/);
    console.log(`bundle: ${statSync(bundle).size} bytes`);
  });

  it("refuses in preflight, before any change, a bundle of another version", async () => {
    const other = writeSpec(
      dir,
      readFileSync(spec, "utf8").replace('version: "1.29"', 'version: "1.30"'),
      "other.yaml",
    );
    const run = await hactl(dir, ["install", "-f", other, "--yes"], {
      command: single,
      env: { ...labSecretEnv(lab), ...NO_NODE_PATH },
    });
    expect(run.code, `${run.stdout}\n${run.stderr}`).toBe(3);
    expect(run.stdout).toMatch(
      /FAIL\s+workstation\s+bundle\s+the bundle holds microk8s 1\.29, cluster\.yaml wants 1\.30/,
    );
    for (const n of lab.nodes)
      expect(
        (
          await inNode(n, ["sh", "-c", "ls -d /tmp/hactl-bundle-* 2>/dev/null; command -v microk8s; true"])
        ).stdout.trim(),
      ).toBe("");
  });

  it("the single file, with no node on PATH, installs the demo cluster from the bundle on nodes with no route out", async () => {
    for (const n of lab.nodes) expect((await inNode(n, ["ip", "route", "show", "default"])).stdout.trim()).toBe("");
    const version = await hactl(dir, ["--version"], { command: single, env: NO_NODE_PATH });
    expect(version.code, version.stderr).toBe(0);
    expect(version.stdout.trim()).toBe("0.1.0");

    const run = await hactl(dir, ["install", "-f", spec, "--yes", "--kubeconfig", `${dir}/demo.kubeconfig`], {
      command: single,
      env: { ...labSecretEnv(lab), ...NO_NODE_PATH },
    });
    expect(run.code, `${run.stdout}\n${run.stderr}`).toBe(0);
    expect(run.stdout).toMatch(
      /ok\s+workstation\s+bundle\s+demo-1\.29\.bundle: microk8s 1\.29 for linux\/amd64, checksum ok/,
    );
    expect(run.stdout).toMatch(/3\/3 nodes Ready, high availability on/);
    expect(run.stdout).toMatch(/API answers through https:\/\/10\.77\.0\.\d+:\d+/);
    for (const line of run.log.match(/\[node-\d\] bundle upload: .*/g) ?? []) console.log(line);
    expect(run.log.match(/\[node-\d\] bundle upload: \d+ of \d+ bytes sent in [\d.]+ s/g)).toHaveLength(3);
    // the built-in templates came from inside the file
    expect((await inNode(node(1), ["cat", "/etc/haproxy/haproxy.cfg"])).stdout).toContain("option httpchk GET /readyz");
    for (const n of lab.nodes.slice(0, 3)) {
      const seen = await kitLog(n);
      // no snap store and no registry: hostpath-storage was enabled from the images imported before the join
      expect(seen.fetches, n.name).toBe("");
      expect(seen.snap.filter((s) => s === "ack")).toHaveLength(2);
      expect(seen.snap).not.toContain("install microk8s");
      expect(seen.snap).not.toContain("download");
      expect(
        seen.microk8s.filter((s) => s === "images import"),
        n.name,
      ).toHaveLength(4);
    }
    expect((await kitLog(node(1))).microk8s).toContain("enable hostpath-storage");
    // the kit does record a pull for an addon whose images were not imported, and refuses a truncated tarball
    // the way MicroK8s does (exit 0, "Failed to import images on ...")
    const pulled = await inNode(node(1), [
      "sh",
      "-c",
      "microk8s enable metrics-server >/dev/null && microk8s disable metrics-server >/dev/null && cat /var/log/hactl-kit/store-fetches.log",
    ]);
    expect(pulled.stdout.trim()).toMatch(/^\S+ pull registry\.k8s\.io\/metrics-server\/metrics-server:v0\.6\.3$/);
    const cut = await inNode(node(1), [
      "sh",
      "-c",
      "head -c 100000 /tmp/hactl-bundle-*/ha-cluster-images.tar | microk8s images import",
    ]);
    expect(cut.code).toBe(0);
    expect(cut.stdout).toMatch(/Failed to import images on 10\.77\.0\.\d+:25000: ctr: unexpected EOF/);
  });

  it("add-node installs the new node from the same bundle, resuming an upload that was cut", async () => {
    const sha = parseChecksumLine(readFileSync(`${bundle}.sha256`, "utf8")) ?? "";
    const partial = 5 * 2 ** 20;
    const target = `${nodeBundleDir(sha)}/bundle.tar`;
    await inNode(node(4), ["sh", "-c", `mkdir -p -m 0700 "$(dirname "$1")" && cat > "$1"`, "sh", target], {
      input: readFileSync(bundle).subarray(0, partial),
    });
    const run = await hactl(
      dir,
      ["add-node", "node-4", "--address", node(4).address, "--role", "worker", "-f", spec, "--yes"],
      { command: single, env: { ...labSecretEnv(lab), ...NO_NODE_PATH } },
    );
    expect(run.code, `${run.stdout}\n${run.stderr}`).toBe(0);
    expect(run.log).toMatch(
      new RegExp(
        `\\[node-4\\] bundle upload: ${statSync(bundle).size - partial} of ${statSync(bundle).size} bytes sent in [\\d.]+ s \\(resumed at byte ${partial}\\)`,
      ),
    );
    const seen = await kitLog(node(4));
    expect(seen.fetches).toBe("");
    expect(seen.snap).not.toContain("install microk8s");
    const nodes = await inNode(node(1), ["microk8s", "kubectl", "get", "nodes"]);
    expect(nodes.stdout).toMatch(/node-4\s+Ready/);

    // snapd (and the kit) refuse a snap file whose assertion was never acknowledged
    const fresh = await inNode(node(4), [
      "sh",
      "-c",
      "cd /tmp && snap download core22 --target-directory=/tmp/unacked >/dev/null && snap install /tmp/unacked/core22_1908.snap",
    ]);
    expect(fresh.code).toBe(1);
    expect(fresh.stderr).toContain(
      'error: cannot find signatures with metadata for snap "/tmp/unacked/core22_1908.snap"',
    );
  });

  it("upgrade takes a bundle of the target minor: refused in preflight when it is not, else a rolling upgrade from the files", async () => {
    const next = join(dir, "demo-1.30.bundle");
    const spec130 = writeSpec(
      dir,
      readFileSync(spec, "utf8").replace('version: "1.29"', 'version: "1.30"'),
      "demo-1.30.yaml",
    );
    const made = await hactl(dir, ["bundle", "-f", spec130, "--out", next], {
      env: { PATH: `${kitWorkstation}:${process.env.PATH ?? ""}` },
    });
    expect(made.code, `${made.stdout}\n${made.stderr}`).toBe(0);
    console.log(`bundle 1.30: ${statSync(next).size} bytes`);
    const env = { ...labSecretEnv(lab), ...NO_NODE_PATH };
    const fetchesBefore = await Promise.all(lab.nodes.map(async (n) => (await kitLog(n)).fetches));

    // spec.airgap.bundle holds 1.29: refused before any change
    const refused = await hactl(dir, ["upgrade", "-f", spec, "--to", "1.30", "--yes"], { command: single, env });
    expect(refused.code, `${refused.stdout}\n${refused.stderr}`).toBe(2);
    expect(refused.stderr).toContain("the bundle holds microk8s 1.29, the upgrade goes to 1.30");
    for (const n of lab.nodes) {
      expect((await inNode(n, ["snap", "list", "microk8s"])).stdout).toMatch(/1\.29\/stable/);
      expect((await inNode(n, ["sh", "-c", "ls -d /tmp/hactl-bundle-* | wc -l"])).stdout.trim()).toBe("1");
    }

    const started = Date.now();
    const run = await hactl(dir, ["upgrade", "-f", spec, "--to", "1.30", "--bundle", next, "--skip-backup", "--yes"], {
      command: single,
      env,
      timeoutMs: 600_000,
    });
    expect(run.code, `${run.stdout}\n${run.stderr}`).toBe(0);
    console.log(`offline upgrade to 1.30 of 4 nodes: ${((Date.now() - started) / 1000).toFixed(1)} s`);
    // run.log holds every run's log (install and add-node too): this run's lines are the later ones
    const uploads = run.log
      .split("\n")
      .filter((l) => /\[node-\d\] bundle upload: /.test(l) && Date.parse(l.slice(0, 24)) >= started);
    for (const line of uploads) console.log(line);
    expect(uploads.filter((l) => /bundle upload: \d+ of \d+ bytes sent in [\d.]+ s/.test(l))).toHaveLength(4);
    expect(run.stdout).toContain("Every node runs MicroK8s 1.30");
    for (const [i, n] of lab.nodes.entries()) {
      expect((await inNode(n, ["snap", "list", "microk8s"])).stdout).toMatch(
        /microk8s\s+v1\.30\.\S+\s+\d+\s+1\.30\/stable/,
      );
      const seen = await kitLog(n);
      expect(seen.fetches, n.name).toBe(fetchesBefore[i]);
      expect(seen.snap, n.name).toContain("switch");
      expect(seen.snap, n.name).not.toContain("refresh microk8s");
    }
    const nodes = await inNode(node(1), ["microk8s", "kubectl", "get", "nodes"]);
    expect(nodes.stdout.match(/Ready\s+\S+\s+\S+\s+v1\.30\./g)).toHaveLength(4);
    const recorded = readFileSync(spec, "utf8");
    expect(recorded).toContain('version: "1.30"');
    expect(recorded).toContain(`bundle: ${next}`);
  }, 420_000);
});
