import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { kubernetesRelease, manifestImages, parseDebName, parseImageList } from "../../../src/bundle/kubeadm-files.js";
import { qualifiedImage } from "../../../src/bundle/container-images.js";
import { readBundleMember, writeBundle, type LocalBundle } from "../../../src/bundle/local-files.js";
import { bundleManifestSchema, bundleProblems } from "../../../src/bundle/manifest.js";
import { driverNamed } from "../../../src/distros/registry.js";
import type { KubeadmClusterState } from "../../../src/gather/kubeadm-state.js";
import { kubeadmBundleManifest } from "../../fakes/bundle.js";
import { EMPTY_KUBEADM, kubeadmInstallPlan } from "../../fakes/kubeadm.js";
import { FakeHost, hostMap } from "../../fakes/fake-host.js";
import { THREE_CP_ONE_WORKER, specFrom } from "../../fakes/spec.js";
import { RunValues } from "../../../src/core/run-values.js";

const spec = specFrom(
  THREE_CP_ONE_WORKER.replace(
    'distribution: { type: microk8s, version: "1.29" }',
    'distribution: { type: kubeadm, version: "1.32" }',
  ),
);
const x86 = new Map(spec.spec.nodes.map((n) => [n.name, { arch: "x86_64" }]));
const SHA = "b".repeat(64);
const DIR = "/tmp/hactl-bundle-bbbbbbbbbbbbbbbb";
const bundle: LocalBundle = {
  path: "/work/k.bundle",
  size: 40 * 2 ** 20,
  sha256: SHA,
  manifest: kubeadmBundleManifest(),
};
const EMPTY = EMPTY_KUBEADM;

function plan(state: KubeadmClusterState, withBundle = true): ReturnType<typeof kubeadmInstallPlan> {
  return kubeadmInstallPlan(spec, state, withBundle ? bundle : undefined);
}

describe("kubeadm bundle manifest checks", () => {
  it("accepts a kubeadm bundle of the spec's minor; names each missing file the install needs", () => {
    expect(bundleProblems(kubeadmBundleManifest(), spec, x86)).toEqual([]);
    const files = kubeadmBundleManifest().files.filter((f) => f.of !== "kubelet" && f.kind !== "cni-manifest");
    expect(bundleProblems({ ...kubeadmBundleManifest(), files }, spec, x86).map((p) => p.message)).toEqual([
      "the bundle has no deb file of kubelet",
      "the bundle has no cni-manifest file of cni",
    ]);
    expect(bundleProblems(kubeadmBundleManifest({ version: "1.31" }), spec, x86).map((p) => p.message)).toEqual([
      "the bundle holds kubeadm 1.31, cluster.yaml wants 1.32",
    ]);
  });

  it("takes Debian file names (epoch as %3a, ~) and still refuses paths", () => {
    expect(bundleManifestSchema.safeParse(kubeadmBundleManifest()).success).toBe(true);
    const bad = { ...kubeadmBundleManifest(), files: [{ ...kubeadmBundleManifest().files[0], name: "../x.deb" }] };
    expect(bundleManifestSchema.safeParse(bad).success).toBe(false);
  });
});

describe("collecting on the workstation (pure parts)", () => {
  it("reads package, version and architecture from apt's file names", () => {
    expect(parseDebName("kubeadm_1.32.3-1.1_amd64.deb")).toEqual({
      package: "kubeadm",
      version: "1.32.3-1.1",
      arch: "amd64",
    });
    expect(parseDebName("conntrack_1%3a1.4.8-1ubuntu1_amd64.deb")?.version).toBe("1:1.4.8-1ubuntu1");
    expect(parseDebName("cni.yaml")).toBeUndefined();
    expect(kubernetesRelease("1.32.3-1.1")).toBe("v1.32.3");
    expect(kubernetesRelease("garbage")).toBeUndefined();
  });

  it("qualifies image references as containerd needs them and finds a manifest's images once each", () => {
    expect(qualifiedImage("calico/cni:v3.27.3")).toBe("docker.io/calico/cni:v3.27.3");
    expect(qualifiedImage("busybox")).toBe("docker.io/library/busybox:latest");
    expect(qualifiedImage("registry.k8s.io/pause:3.10")).toBe("registry.k8s.io/pause:3.10");
    expect(qualifiedImage("localhost:5000/x@sha256:abc")).toBe("localhost:5000/x@sha256:abc");
    const yaml = [
      "containers:",
      "  - name: a",
      '    image: "calico/node:v3.27.3"',
      "  - image: docker.io/calico/cni:v3.27.3 # cni",
      "initContainers:",
      "  - image: calico/node:v3.27.3",
    ].join("\n");
    expect(manifestImages(yaml)).toEqual(["docker.io/calico/node:v3.27.3", "docker.io/calico/cni:v3.27.3"]);
    expect(
      parseImageList("registry.k8s.io/kube-apiserver:v1.32.3\nW1203 warning: something\nregistry.k8s.io/pause:3.10\n"),
    ).toEqual(["registry.k8s.io/kube-apiserver:v1.32.3", "registry.k8s.io/pause:3.10"]);
  });

  it("reads one member (the CNI manifest) back out of a written bundle", async () => {
    const dir = mkdtempSync(join(tmpdir(), "hactl-kbundle-"));
    writeFileSync(join(dir, "a.deb"), "x".repeat(700));
    writeFileSync(join(dir, "cni.yaml"), "kind: DaemonSet\n");
    const manifest = {
      ...kubeadmBundleManifest(),
      files: [
        { name: "a.deb", kind: "deb" as const, of: "a", size: 700, sha256: "a".repeat(64) },
        { name: "cni.yaml", kind: "cni-manifest" as const, of: "cni", size: 16, sha256: "a".repeat(64) },
      ],
    };
    await writeBundle(join(dir, "b.bundle"), manifest, dir);
    expect((await readBundleMember(join(dir, "b.bundle"), "cni.yaml"))?.toString()).toBe("kind: DaemonSet\n");
    expect(await readBundleMember(join(dir, "b.bundle"), "nope.yaml")).toBeUndefined();
  });
});

describe("installing kubeadm from the bundle", () => {
  it("the driver installs the packages with apt (no download), then imports every image tarball into k8s.io", () => {
    const argv = driverNamed("kubeadm")
      .installFromBundle(DIR, bundle.manifest.files)
      .map((c) => c.argv.join(" "));
    expect(argv).toEqual([
      `env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-download ${DIR}/conntrack_1%3a1.4.8-1ubuntu1_amd64.deb ${DIR}/containerd_1.7.24-0ubuntu1~24.04.2_amd64.deb ${DIR}/kubeadm_1.32.3-1.1_amd64.deb ${DIR}/kubectl_1.32.3-1.1_amd64.deb ${DIR}/kubelet_1.32.3-1.1_amd64.deb`,
      "systemctl enable kubelet",
      "systemctl enable --now containerd",
      `ctr -n k8s.io images import ${DIR}/cni-images.tar`,
      `ctr -n k8s.io images import ${DIR}/kubernetes-images.tar`,
    ]);
  });

  it("plans the bundle step before containerd on every node not in the cluster yet, and none on members", () => {
    const fresh = plan(EMPTY);
    expect(fresh[0]?.steps.filter((s) => s.node === "worker-1").map((s) => s.id.split(":")[0])).toEqual([
      "swap",
      "modules",
      "sysctl-k8s",
      "bundle-files",
      "containerd",
      "kube-packages",
    ]);
    const cni = fresh[2]?.steps.find((s) => s.id === "cni:node-1");
    expect(cni?.title).toBe("apply the CNI manifest from the offline bundle");
    expect(cni?.describe).toEqual(["kubectl apply -f - (the bundle's CNI manifest)"]);
    const joined = plan({ ...EMPTY, installed: new Set(["node-1", "node-2", "node-3"]), leader: "node-1" });
    expect(joined[0]?.steps.filter((s) => s.id.startsWith("bundle-files:")).map((s) => s.node)).toEqual(["worker-1"]);
    expect(plan(EMPTY, false)[0]?.steps.some((s) => s.id.startsWith("bundle-files:"))).toBe(false);
  });

  it("the bundle step uploads, checks the sha256 on the node, unpacks, and installs from the files only", async () => {
    const step = plan(EMPTY)[0]?.steps.find((s) => s.id === "bundle-files:worker-1");
    expect(step?.title).toBe("Kubernetes v1.32.3 packages and images from the offline bundle");
    expect(step?.describe[0]).toBe(
      `upload k.bundle (40.0 MiB) to ${DIR}/ (a cut upload resumes), check its sha256 there, unpack`,
    );
    const host = new FakeHost("worker-1")
      .on({ prefix: ["mkdir"] }, { code: 0 })
      .on({ prefix: ["sha256sum"] }, { stdout: `${SHA}  ${DIR}/bundle.tar\n` })
      .on({ prefix: ["tar"] }, { code: 0 })
      .on(
        { prefix: ["env", "DEBIAN_FRONTEND=noninteractive", "apt-get", "install", "-y", "--no-download"] },
        { code: 0 },
      )
      .on({ prefix: ["systemctl", "enable"] }, { code: 0 })
      .on({ prefix: ["ctr", "-n", "k8s.io", "images", "import"] }, { code: 0 });
    const logs: string[] = [];
    const outcome = await step?.run({
      hosts: hostMap(host),
      signal: new AbortController().signal,
      log: (l) => logs.push(l),
      values: new RunValues(),
    });
    expect(outcome).toBe("changed");
    expect(host.puts.get(`${DIR}/bundle.tar`)).toBe("/work/k.bundle");
    expect(host.lines.slice(0, 3)).toEqual([
      `mkdir -p -m 0700 ${DIR}`,
      `sha256sum ${DIR}/bundle.tar`,
      `tar -xf ${DIR}/bundle.tar -C ${DIR}`,
    ]);
    expect(host.lines.some((l) => /curl|apt-get update|pkgs\.k8s\.io|ctr .*pull/.test(l))).toBe(false);
    expect(host.lines.filter((l) => l.startsWith("ctr "))).toHaveLength(2);
    expect(logs[0]).toMatch(/^bundle upload: \d+ of \d+ bytes sent in [\d.]+ s$/);

    const failing = new FakeHost("worker-1")
      .on({ prefix: ["mkdir"] }, { code: 0 })
      .on({ prefix: ["sha256sum"] }, { stdout: `${SHA}  x\n` })
      .on({ prefix: ["tar"] }, { code: 0 })
      .on(
        { prefix: ["env"] },
        {
          code: 100,
          stderr:
            "The following packages have unmet dependencies:\n kubelet : Depends: socat but it is not installable",
        },
      );
    await expect(
      step?.run({
        hosts: hostMap(failing),
        signal: new AbortController().signal,
        log: () => undefined,
        values: new RunValues(),
      }),
    ).rejects.toMatchObject({
      message: "apt-get failed on worker-1 installing from the offline bundle (exit 100)",
      details: expect.stringContaining("kubelet : Depends: socat but it is not installable") as unknown,
    });
    expect(failing.lines.some((l) => l.startsWith("ctr "))).toBe(false);
  });
});
