import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { describeDownloads, openBundle, sha256File, writeBundle } from "../../../src/bundle/local-files.js";
import {
  bundleChecks,
  bundleManifestSchema,
  bundleProblems,
  debianArch,
  parseChecksumLine,
  type BundleManifest,
} from "../../../src/bundle/manifest.js";
import { HactlError } from "../../../src/core/errors.js";
import { microk8sBundleManifest } from "../../fakes/bundle.js";
import { specFrom, THREE_CP_ONE_WORKER } from "../../fakes/spec.js";

const spec = specFrom(THREE_CP_ONE_WORKER);
const x86 = new Map(spec.spec.nodes.map((n) => [n.name, { arch: "x86_64" }]));
const file = (name: string, of: string, kind: "snap" | "assert") => ({
  name,
  of,
  kind,
  size: 10,
  sha256: "a".repeat(64),
});

function manifest(over: Partial<BundleManifest> = {}): BundleManifest {
  return { ...microk8sBundleManifest({ created: "2026-12-02T00:00:00Z" }), ...over };
}

describe("bundle checks against the spec and the nodes", () => {
  it("accepts a bundle of the spec's distribution, version and the nodes' architecture", () => {
    expect(bundleProblems(manifest(), spec, x86)).toEqual([]);
    expect(bundleChecks(manifest(), "lab.bundle", spec, x86)).toEqual([
      {
        node: "workstation",
        check: "bundle",
        status: "ok",
        message: "lab.bundle: microk8s 1.29 for linux/amd64, checksum ok",
      },
    ]);
  });

  it("names another version, another distribution and each node of another architecture, with fixes", () => {
    const arm = new Map(x86).set("node-2", { arch: "aarch64" });
    const problems = bundleProblems(manifest({ distribution: { type: "kubeadm", version: "1.30" } }), spec, arm);
    expect(problems.map((p) => p.message)).toEqual([
      "the bundle holds kubeadm, cluster.yaml wants microk8s",
      "the bundle holds kubeadm 1.30, cluster.yaml wants 1.29",
      "node-2 is arm64 (aarch64), the bundle is for amd64",
    ]);
    expect(problems[2]?.node).toBe("node-2");
    for (const p of problems) expect(p.fix).toMatch(/hactl bundle/);
    expect(
      bundleChecks(manifest({ distribution: { type: "microk8s", version: "1.30" } }), "b", spec, x86).map(
        (c) => c.status,
      ),
    ).toEqual(["fail"]);
  });

  it("refuses a MicroK8s bundle without the base snap's assertion", () => {
    const files = manifest().files.filter((f) => !(f.of === "core22" && f.kind === "assert"));
    expect(bundleProblems(manifest({ files }), spec, x86).map((p) => p.message)).toEqual([
      "the bundle has no assert file of core22",
    ]);
  });

  it("maps uname -m to snap/Debian architectures and rejects file names that are paths", () => {
    expect(debianArch("x86_64")).toBe("amd64");
    expect(debianArch("aarch64")).toBe("arm64");
    expect(bundleManifestSchema.safeParse(manifest({ files: [file("../etc/passwd", "x", "snap")] })).success).toBe(
      false,
    );
  });
});

describe("bundle file", () => {
  it("writes manifest + files as a tar with FILE.sha256, and reads the manifest back after checking the checksum", async () => {
    const dir = mkdtempSync(join(tmpdir(), "hactl-bundle-test-"));
    writeFileSync(join(dir, "microk8s_7000.snap"), Buffer.alloc(1500, 1));
    writeFileSync(join(dir, "microk8s_7000.assert"), "type: snap-revision\n");
    const files = await describeDownloads(dir);
    expect(files.map((f) => [f.name, f.of, f.kind, f.size])).toEqual([
      ["microk8s_7000.assert", "microk8s", "assert", 20],
      ["microk8s_7000.snap", "microk8s", "snap", 1500],
    ]);
    const out = join(dir, "out.bundle");
    const written = await writeBundle(out, manifest({ files }), dir);
    expect(written.sha256).toBe(await sha256File(out));
    expect(parseChecksumLine(readFileSync(`${out}.sha256`, "utf8"))).toBe(written.sha256);
    const opened = await openBundle(out);
    expect(opened.manifest.files).toEqual(files);
    expect(opened.size).toBe(written.size);

    const bytes = readFileSync(out);
    bytes[bytes.length - 2000] = 9;
    writeFileSync(out, bytes);
    const damaged = await openBundle(out).catch((e: unknown) => e);
    expect(damaged).toBeInstanceOf(HactlError);
    expect((damaged as HactlError).message).toMatch(/is damaged: its sha256 is [0-9a-f]{64}, out\.bundle\.sha256 says/);
  });
});
